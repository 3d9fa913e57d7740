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
    "target",
    "synthetic",
    "line_mcp.backends.synthetic:SyntheticTarget",
    "ground-truth neurons: expressions over object/color/pattern detectors from a JSON file",
    "synthetic:standard",
)
register(
    "generator",
    "bank",
    "line_mcp.backends.bank_generator:BankGenerator",
    "offline stand-in: retrieve the labeled bank image nearest the concept and vary it",
    "bank:tuxpaint+openclipart",
)
register(
    "generator",
    "compose",
    "line_mcp.backends.compose.generator:ComposeGenerator",
    "offline compositional source: cut-outs of labelled images with colours, patterns, "
    "counts and settings; refuses concepts no source shows",
    "compose:tuxpaint+openclipart+art4apps+gcompris+sweethome3d",
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
    "line_mcp.backends.control:BankControlSet",
    "offline labeled image banks (openmoji, tuxpaint, openclipart)",
    "bank:openmoji",
)
register(
    "control",
    "folder",
    "line_mcp.backends.control:FolderControlSet",
    "a folder with one sub-folder of images per label (ImageNet val layout)",
    "folder:/data/imagenet/val",
)

# --- paper-scale backends (GPU): vision targets, diffusers, HTTP and llama.cpp proposers ---
register(
    "target",
    "torchvision",
    "line_mcp.backends.vision_targets:TorchvisionTarget",
    "torchvision classifier (resnet18, resnet50, vit_b_16, ...); layers avgpool, layer4, "
    "encoder, heads; needs torchvision",
    "torchvision:resnet50",
)
register(
    "target",
    "places365",
    "line_mcp.backends.vision_targets:Places365Target",
    "ResNet50 trained on Places365 from its checkpoint file; needs torchvision",
    "places365:/models/resnet50_places365.pth.tar?classes=/models/categories_places365.txt",
)
register(
    "target",
    "timm",
    "line_mcp.backends.vision_targets:TimmTarget",
    "timm model by name (weights from the hub cache or ?checkpoint=FILE); needs timm",
    "timm:resnet50.a1_in1k",
)
register(
    "target",
    "transformers",
    "line_mcp.backends.vision_targets:TransformersImageTarget",
    "transformers image classifier by hub id or folder, with its image processor",
    "transformers:microsoft/resnet-50",
)
register(
    "target",
    "torch",
    "line_mcp.backends.vision_targets:TorchFactoryTarget",
    "any nn.Module from a factory package.module:function; layer = any dotted module name",
    "torch:mypackage.models:build_network?checkpoint=/models/net.pt",
)
register(
    "target",
    "callable",
    "line_mcp.backends.vision_targets:CallableTarget",
    "black box: package.module:function(images) -> array [n_images, n_neurons]",
    "callable:mypackage.probe:activations",
)
register(
    "generator",
    "diffusers",
    "line_mcp.backends.diffusers_backends:DiffusersGenerator",
    "text-to-image through diffusers: sdxl, flux-dev, sd15, sd-turbo, a hub id or a folder",
    "diffusers:sdxl?dtype=float16",
)
register(
    "editor",
    "diffusers",
    "line_mcp.backends.diffusers_backends:DiffusersEditor",
    "image editing through diffusers: qwen-image-edit, instruct-pix2pix, a hub id or a folder",
    "diffusers:qwen-image-edit?offload=model",
)
register(
    "proposer",
    "openai",
    "line_mcp.backends.http_proposer:OpenAIProposer",
    "any OpenAI-compatible chat endpoint (vLLM, llama.cpp server, Ollama); key from env",
    "openai:http://127.0.0.1:8000/v1?model=meta-llama/Llama-3.1-8B-Instruct",
)
register(
    "proposer",
    "llama-cpp",
    "line_mcp.backends.http_proposer:LlamaCppProposer",
    "a GGUF file through llama-cpp-python (optional extra: pip install llama-cpp-python)",
    "llama-cpp:/models/Llama-3.1-8B-Instruct-Q4_K_M.gguf",
)
