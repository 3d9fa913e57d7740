"""Proposers: a tiny random Llama with a chat template, and a real OpenAI-compatible HTTP server."""

from __future__ import annotations

import importlib.util
import json
import threading
import typing
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from line_mcp.backends.registry import BackendError, BuildContext, resolve
from tests.backends.tiny_models import tiny_chat_llama

CPU = BuildContext(device="cpu")


def test_transformers_chat_proposer_on_tiny_llama(tmp_path):
    path = tiny_chat_llama(tmp_path / "llama")
    proposer = resolve("proposer", f"transformers:{path}?max_new_tokens=12", CPU)
    assert proposer._style == "chat"  # auto picks the chat template when the tokenizer has one
    templated = proposer._tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert templated == "<|user|>hi\n<|assistant|>"
    first = proposer.complete("Propose a concept.", seed=3)
    assert isinstance(first, str) and first == proposer.complete("Propose a concept.", seed=3)
    greedy = resolve("proposer", f"transformers:{path}?max_new_tokens=12&temperature=0", CPU)
    assert greedy.fingerprint != proposer.fingerprint
    assert greedy.complete("Propose.", seed=1) == greedy.complete("Propose.", seed=2)


class _ChatServer(BaseHTTPRequestHandler):
    """Speaks the chat-completions format; records each request it receives."""

    received: typing.ClassVar[list[dict]] = []
    status = 200

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        _ChatServer.received.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
        )
        if _ChatServer.status != 200:
            self.send_response(_ChatServer.status)
            self.end_headers()
            self.wfile.write(b'{"error": "bad key"}')
            return
        concept = body["messages"][0]["content"].split()[-1]
        reply = {
            "choices": [
                {
                    "message": {
                        "role": "assistant",
                        "content": f"<thinking>seed {body['seed']}</thinking><answer>{concept}",
                    }
                }
            ]
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def chat_server() -> Iterator[str]:
    _ChatServer.received, _ChatServer.status = [], 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ChatServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_openai_proposer_speaks_chat_completions(chat_server, monkeypatch):
    monkeypatch.setenv("MY_LLM_KEY", "sk-test")
    spec = f"openai:{chat_server}#llama-3.1-8b?api_key_env=MY_LLM_KEY&temperature=0.2"
    proposer = resolve("proposer", spec, CPU)
    reply = proposer.complete("propose zebra", seed=7)
    assert reply == "<thinking>seed 7</thinking><answer>zebra</answer>"  # closing tag restored
    request = _ChatServer.received[0]
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer sk-test"
    body = request["body"]
    assert body["model"] == "llama-3.1-8b" and body["temperature"] == 0.2
    assert body["messages"] == [{"role": "user", "content": "propose zebra"}]
    assert body["stop"] == ["</answer>"]
    other = resolve("proposer", f"openai:{chat_server}?model=other", CPU)
    assert other.fingerprint != proposer.fingerprint


def test_openai_proposer_sends_a_batch_as_concurrent_requests(chat_server):
    from line_mcp.backends.base import BatchProposer

    proposer = resolve("proposer", f"openai:{chat_server}?model=m", CPU)
    assert isinstance(proposer, BatchProposer)
    prompts = [f"propose thing{i}" for i in range(6)]
    replies = proposer.complete_batch(prompts, list(range(6)))
    assert replies == [proposer.complete(p, s) for s, p in enumerate(prompts)]
    assert sorted(r["body"]["seed"] for r in _ChatServer.received[:6]) == list(range(6))
    assert proposer.complete_batch([], []) == []


def test_openai_proposer_errors_are_clear(chat_server):
    _ChatServer.status = 401
    proposer = resolve("proposer", f"openai:{chat_server}?model=m&retries=0", CPU)
    with pytest.raises(BackendError, match=r"HTTP 401.*OPENAI_API_KEY"):
        proposer.complete("x", seed=0)
    with pytest.raises(BackendError, match="model name"):
        resolve("proposer", f"openai:{chat_server}", CPU)
    with pytest.raises(BackendError, match="base URL"):
        resolve("proposer", "openai:localhost:8000?model=m", CPU)


def test_openai_proposer_unreachable_server(chat_server):
    closed = chat_server.replace("/v1", "").rsplit(":", 1)[0] + ":9/v1"  # discard port
    proposer = resolve("proposer", f"openai:{closed}?model=m&retries=0&timeout=5", CPU)
    with pytest.raises(BackendError, match="cannot reach the LLM server"):
        proposer.complete("x", seed=0)


def test_llama_cpp_is_an_optional_extra(tmp_path):
    if importlib.util.find_spec("llama_cpp") is not None:
        pytest.skip("llama-cpp-python is installed")
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    with pytest.raises(BackendError, match="pip install llama-cpp-python"):
        resolve("proposer", f"llama-cpp:{gguf}", CPU)
    with pytest.raises(BackendError, match=r"\.gguf file"):
        resolve("proposer", "llama-cpp:/no/such/model.gguf", CPU)
