"""The implementations that ship with line-mcp, registered by import path."""

from line_mcp.backends.registry import register

register(
    "target",
    "efficientnet-lite",
    "line_mcp.backends.torch_target:EfficientNetLiteTarget",
    "EfficientNet-Lite ImageNet classifier, pretrained weights from registry packages",
    "efficientnet-lite:lite0",
)
register(
    "generator",
    "bank",
    "line_mcp.backends.bank_generator:BankGenerator",
    "offline stand-in: retrieve the labeled bank image nearest the concept and vary it",
    "bank:tuxpaint+openclipart",
)
register(
    "proposer",
    "transformers",
    "line_mcp.backends.transformers_text:TransformersProposer",
    "causal LM through transformers (hub id, local folder, .gguf file, or alias smollm2)",
    "transformers:meta-llama/Llama-3.1-8B-Instruct",
)
register(
    "embedder",
    "minilm",
    "line_mcp.backends.transformers_text:TransformersEmbedder",
    "all-MiniLM-L6-v2 sentence embeddings bundled in a registry package",
    "minilm",
)
register(
    "embedder",
    "transformers",
    "line_mcp.backends.transformers_text:TransformersEmbedder",
    "mean-pooled sentence embeddings from any transformers encoder",
    "transformers:sentence-transformers/all-MiniLM-L6-v2",
)
register(
    "control",
    "bank",
    "line_mcp.data.control:BankControlSet",
    "offline labeled image banks (openmoji, tuxpaint, openclipart)",
    "bank:openmoji",
)
register(
    "control",
    "folder",
    "line_mcp.data.control:FolderControlSet",
    "a folder with one sub-folder of images per label (ImageNet val layout)",
    "folder:/data/imagenet/val",
)
