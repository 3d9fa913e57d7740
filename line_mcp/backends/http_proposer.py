"""LLM proposers outside transformers: OpenAI-compatible HTTP endpoints and llama.cpp.

- ``openai:BASE_URL?model=NAME``: any server that speaks the chat-completions
  format (vLLM, a llama.cpp server, Ollama's ``/v1``, hosted APIs). The key is read
  from the environment variable ``api_key_env`` names (``OPENAI_API_KEY`` by
  default); local servers need none. ``BASE_URL#NAME`` is short for ``?model=NAME``.
- ``llama-cpp:/path/model.gguf``: a GGUF file through ``llama-cpp-python`` (an
  optional extra, not installed by default).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from line_mcp.backends.hub import files_fingerprint
from line_mcp.backends.registry import BackendError, BuildContext

_STOP = "</answer>"
# Requests in flight at once for a batch of prompts.
_CONCURRENT = 16


class _SamplingOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    temperature: float = Field(0.7, ge=0.0, le=5.0)
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    max_tokens: int = Field(256, ge=8, le=32768, description="longest reply")


def _close_answer(text: str) -> str:
    """Servers drop the stop string from the reply; put the closing tag back."""
    if "<answer>" in text and _STOP not in text:
        return text + _STOP
    return text


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


class OpenAIProposer:
    """A proposer behind an OpenAI-compatible ``/chat/completions`` endpoint.

    Each prompt is one user message; the seed is sent as ``seed`` (servers that
    honour it reply reproducibly). The fingerprint covers the URL, model name
    and sampling options — the weights behind an endpoint cannot be hashed, so
    change the model name when they change.

    Spec: ``openai:http://127.0.0.1:8000/v1?model=meta-llama/Llama-3.1-8B-Instruct``
    (vLLM), ``openai:http://127.0.0.1:11434/v1#llama3.1:8b`` (Ollama),
    ``openai:https://api.example.com/v1?model=NAME&api_key_env=EXAMPLE_KEY``.

    Example:
        >>> spec = "openai:http://127.0.0.1:8000/v1#llama"
        >>> proposer = resolve("proposer", spec)  # doctest: +SKIP
        >>> proposer.complete("Propose a concept ...", seed=3)  # doctest: +SKIP
        '<thinking>...</thinking><answer>striped fur</answer>'
    """

    class Options(_SamplingOptions):
        model: str | None = Field(None, description="model name the server knows")
        api_key_env: str = Field("OPENAI_API_KEY", description="environment variable of the key")
        timeout: float = Field(120.0, gt=0.0, le=3600.0, description="seconds per request")
        retries: int = Field(2, ge=0, le=10, description="re-sends after 429/5xx/connection errors")

    def __init__(self, base_url: str, model: str, options: Options) -> None:
        self.name = f"openai:{base_url}#{model}"
        self.fingerprint = _digest(
            "openai", base_url, model, options.temperature, options.top_p, options.max_tokens
        )
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._model = model
        self._options = options

    @classmethod
    def build(cls, argument: str, options: Options, context: BuildContext) -> OpenAIProposer:
        base_url, _, model = argument.partition("#")
        base_url = base_url or os.environ.get("OPENAI_BASE_URL", "")
        model = options.model or model
        if not base_url.startswith(("http://", "https://")):
            raise BackendError(
                f"openai proposer needs a base URL like http://127.0.0.1:8000/v1, got "
                f"{argument!r} (or set OPENAI_BASE_URL)"
            )
        if not model:
            raise BackendError(
                "openai proposer needs a model name: openai:URL?model=NAME or openai:URL#NAME"
            )
        return cls(base_url, model, options)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self._options.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def complete(self, prompt: str, seed: int) -> str:
        """The assistant's reply to ``prompt`` as one user message.

        Raises:
            BackendError: the server is unreachable, refuses the request, or
                answers in a shape that is not a chat completion.
        """
        body = json.dumps(
            {
                "model": self._model,
                "messages": [{"role": "user", "content": prompt}],
                "temperature": self._options.temperature,
                "top_p": self._options.top_p,
                "max_tokens": self._options.max_tokens,
                "seed": seed,
                "stop": [_STOP],
            }
        ).encode()
        reply = self._post(body)
        try:
            content = reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as err:
            raise BackendError(
                f"{self._url} did not answer with a chat completion: {str(reply)[:300]}"
            ) from err
        return _close_answer(content or "")

    def complete_batch(self, prompts: Sequence[str], seeds: Sequence[int]) -> list[str]:
        """:meth:`complete` of every prompt as concurrent requests (the server batches them).

        Raises:
            BackendError: as :meth:`complete`, for the first request that failed.
        """
        from concurrent.futures import ThreadPoolExecutor

        if not prompts:
            return []
        with ThreadPoolExecutor(max_workers=min(len(prompts), _CONCURRENT)) as pool:
            return list(pool.map(self.complete, prompts, seeds))

    def _post(self, body: bytes) -> dict[str, Any]:
        for attempt in range(self._options.retries + 1):
            request = urllib.request.Request(self._url, body, self._headers(), method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self._options.timeout) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as err:
                detail = err.read()[:300].decode(errors="replace")
                if err.code in (429, 500, 502, 503, 504) and attempt < self._options.retries:
                    time.sleep(0.5 * 2**attempt)
                    continue
                hint = ""
                if err.code in (401, 403):
                    hint = f" (check the key in ${self._options.api_key_env})"
                raise BackendError(
                    f"{self._url} refused the request: HTTP {err.code} {detail}{hint}"
                ) from err
            except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
                if attempt < self._options.retries:
                    time.sleep(0.5 * 2**attempt)
                    continue
                raise BackendError(
                    f"cannot reach the LLM server at {self._url}: {err}; is it running?"
                ) from err
            except json.JSONDecodeError as err:
                raise BackendError(f"{self._url} answered with something that is not JSON") from err
        raise AssertionError("unreachable")


class LlamaCppProposer:
    """A GGUF model through ``llama-cpp-python`` (optional: ``pip install llama-cpp-python``).

    ``style=chat`` applies the chat template stored in the GGUF file;
    ``completion`` continues the raw prompt after an opened ``<thinking>`` tag.
    All layers go to the GPU when the device is CUDA.

    Spec: ``llama-cpp:/models/Llama-3.1-8B-Instruct-Q4_K_M.gguf?n_ctx=8192``.
    """

    class Options(_SamplingOptions):
        style: Literal["chat", "completion"] = "chat"
        n_ctx: int = Field(4096, ge=512, le=131072, description="context length")

    def __init__(self, name: str, llama: Any, fingerprint: str, options: Options) -> None:
        self.name = name
        self.fingerprint = fingerprint
        self._llama = llama
        self._options = options

    @classmethod
    def build(cls, argument: str, options: Options, context: BuildContext) -> LlamaCppProposer:
        path = Path(argument).expanduser()
        if path.suffix != ".gguf" or not path.is_file():
            raise BackendError(f"llama-cpp needs an existing .gguf file, got {argument!r}")
        try:
            from llama_cpp import Llama
        except ImportError as err:
            raise BackendError(
                "llama-cpp proposer needs the optional package llama-cpp-python: "
                "pip install llama-cpp-python (builds llama.cpp; set CMAKE_ARGS=-DGGML_CUDA=on "
                "for GPU support), or use transformers:PATH.gguf"
            ) from err
        llama = Llama(
            model_path=str(path),
            n_ctx=options.n_ctx,
            n_gpu_layers=-1 if context.device.startswith("cuda") else 0,
            verbose=False,
        )
        fingerprint = _digest(
            "llama-cpp",
            files_fingerprint(path),
            options.style,
            options.temperature,
            options.top_p,
            options.max_tokens,
        )
        return cls(f"llama-cpp:{path.name}", llama, fingerprint, options)

    def complete(self, prompt: str, seed: int) -> str:
        sampling = {
            "temperature": self._options.temperature,
            "top_p": self._options.top_p,
            "max_tokens": self._options.max_tokens,
            "seed": seed,
            "stop": [_STOP],
        }
        if self._options.style == "chat":
            reply = self._llama.create_chat_completion(
                messages=[{"role": "user", "content": prompt}], **sampling
            )
            return _close_answer(reply["choices"][0]["message"]["content"] or "")
        primer = "<thinking>\n"
        reply = self._llama.create_completion(prompt.rstrip() + "\n\n" + primer, **sampling)
        return _close_answer(primer + reply["choices"][0]["text"])
