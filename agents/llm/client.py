"""A synchronous chat-completions client for any OpenAI-compatible endpoint.

Built on the official `openai` SDK (never litellm: two of its PyPI releases were malware). The
SDK's own retries are turned off and done here instead, so which failures are retried, how long
we wait and how errors are reported are the same for every provider and can be tested.

No SSRF blocking here: see `agents.llm.settings` for why model endpoints are exempt.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import openai

from agents.llm.errors import ErrorCode, LLMError, scrub
from agents.llm.settings import KNOWN_DEFAULTS, ModelSettings
from agents.llm.types import (
    Completion,
    DoneEvent,
    LLMCallRecord,
    StreamEvent,
    TokenEvent,
    ToolCall,
    ToolCallEvent,
    Usage,
)

logger = logging.getLogger(__name__)

Message = Mapping[str, Any]
OnLLMCall = Callable[[LLMCallRecord], None]

# The SDK refuses to build a client without a key; keyless servers get this placeholder and the
# Authorization header is then removed from every request.
_NO_KEY_PLACEHOLDER = "no-key"
_UPSTREAM_MESSAGE_LIMIT = 300


class LLMClient:
    """Calls one configured model; safe to share between threads."""

    def __init__(
        self,
        settings: ModelSettings,
        http_client: Any | None = None,
        *,
        on_llm_call: OnLLMCall | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`http_client`: an httpx/httpx2 `Client` to reuse (left open by `close`)."""
        settings.validate()
        self.settings = settings
        self.on_llm_call = on_llm_call
        self._sleep = sleep
        self._owns_http_client = http_client is None
        self._sdk = openai.OpenAI(
            api_key=settings.api_key or _NO_KEY_PLACEHOLDER,
            base_url=settings.resolved_base_url,
            timeout=settings.timeout_s,
            max_retries=0,
            http_client=http_client,
        )
        headers: dict[str, Any] = {}
        if not settings.api_key:
            headers["Authorization"] = openai.omit
        if not settings.spec.sends_openai_account_headers:
            # Don't hand the operator's OpenAI org/project ids (from the env) to other servers.
            headers["OpenAI-Organization"] = openai.omit
            headers["OpenAI-Project"] = openai.omit
        self._extra_headers = headers

    def __repr__(self) -> str:
        return f"LLMClient({self.settings!r})"

    def close(self) -> None:
        """Release connections (a caller-provided http_client stays open)."""
        if self._owns_http_client:
            self._sdk.close()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public calls ----------------------------------------------------------------------------
    def complete(
        self,
        messages: Iterable[Message],
        *,
        tools: list[dict[str, Any]] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        timeout: float | None = None,
        on_llm_call: OnLLMCall | None = None,
    ) -> Completion:
        """One chat completion; raises LLMError on failure after the allowed retries."""
        kwargs = self._request_kwargs(messages, tools, temperature, max_tokens, timeout)
        started = time.monotonic()
        attempts = 0
        try:
            while True:
                attempts += 1
                try:
                    response = self._sdk.chat.completions.create(**kwargs)
                    completion = self._completion_from(response, started)
                    break
                except (openai.OpenAIError, LLMError, ValueError) as exc:
                    error = self._llm_error(exc, timeout)
                    self._maybe_wait_before_retry(error, attempts)
        except LLMError as error:
            self._report(on_llm_call, started, attempts, streamed=False, error=error)
            raise
        self._report(on_llm_call, started, attempts, streamed=False, completion=completion)
        return completion

    def stream(
        self,
        messages: Iterable[Message],
        *,
        tools: list[dict[str, Any]] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        timeout: float | None = None,
        on_llm_call: OnLLMCall | None = None,
    ) -> Iterator[StreamEvent]:
        """Stream a completion: TokenEvents, then ToolCallEvents, then one DoneEvent.

        Nothing is sent until the iterator is first advanced. A failure before the first token is
        retried like `complete`; after a token has been yielded it is raised (a retry would
        repeat text the consumer already has). `timeout` bounds the silence between chunks.
        """
        kwargs = self._request_kwargs(messages, tools, temperature, max_tokens, timeout)
        kwargs["stream"] = True
        if self.settings.stream_usage:
            kwargs["stream_options"] = {"include_usage": True}
        return self._stream(kwargs, timeout, on_llm_call)

    def list_models(self, *, timeout: float | None = None) -> list[str]:
        """The model ids the endpoint lists (`GET /models`)."""
        attempts = 0
        while True:
            attempts += 1
            try:
                page = self._sdk.models.list(
                    extra_headers=self._extra_headers or None,
                    timeout=timeout if timeout is not None else openai.not_given,
                )
                if isinstance(page, str):
                    raise self._bad_response("listed models as something other than JSON")
                return [str(model.id) for model in page.data]
            except (openai.OpenAIError, LLMError, ValueError, AttributeError, TypeError) as exc:
                error = self._llm_error(exc, timeout)
                self._maybe_wait_before_retry(error, attempts)

    # -- streaming -------------------------------------------------------------------------------
    def _stream(
        self, kwargs: dict[str, Any], timeout: float | None, on_llm_call: OnLLMCall | None
    ) -> Iterator[StreamEvent]:
        started = time.monotonic()
        attempts = 0
        reported = False
        try:
            while True:
                attempts += 1
                parts: list[str] = []
                tool_calls = _ToolCallAssembler()
                usage: Usage | None = None
                finish_reason: str | None = None
                model = ""
                chunks_seen = 0
                yielded = False
                try:
                    sdk_stream = self._sdk.chat.completions.create(**kwargs)
                    if isinstance(sdk_stream, str):
                        raise self._bad_response("answered a streamed request with non-JSON text")
                    with closing(sdk_stream):
                        for chunk in sdk_stream:
                            chunks_seen += 1
                            model = getattr(chunk, "model", None) or model
                            if getattr(chunk, "usage", None):
                                usage = _usage_from(chunk.usage)
                            for choice in getattr(chunk, "choices", None) or []:
                                if getattr(choice, "index", 0) not in (0, None):
                                    continue  # we ask for one choice; ignore any others
                                delta = choice.delta
                                if delta is not None:
                                    if delta.content:
                                        parts.append(delta.content)
                                        yielded = True
                                        yield TokenEvent(delta.content)
                                    for fragment in delta.tool_calls or []:
                                        tool_calls.add(fragment)
                                if choice.finish_reason:
                                    finish_reason = choice.finish_reason
                    if chunks_seen == 0:
                        raise self._bad_response("ended the stream without sending any data")
                    break
                except (openai.OpenAIError, LLMError, ValueError, AttributeError, TypeError) as exc:
                    error = self._llm_error(exc, timeout)
                    if yielded:
                        raise error from None
                    self._maybe_wait_before_retry(error, attempts)
            calls = tool_calls.finish()
            completion = Completion(
                text="".join(parts),
                tool_calls=calls,
                usage=usage or Usage(),
                model=model or self.settings.model,
                latency_ms=_elapsed_ms(started),
                finish_reason=finish_reason,
            )
            reported = True
            self._report(on_llm_call, started, attempts, streamed=True, completion=completion)
            for call in calls:
                yield ToolCallEvent.of(call)
            yield DoneEvent(completion)
        except LLMError as error:
            if not reported:
                reported = True
                self._report(on_llm_call, started, attempts, streamed=True, error=error)
            raise
        except GeneratorExit:
            if not reported:
                self._report(on_llm_call, started, attempts, streamed=True, cancelled=True)
            raise

    # -- helpers ---------------------------------------------------------------------------------
    def _request_kwargs(
        self,
        messages: Iterable[Message],
        tools: list[dict[str, Any]] | None,
        temperature: float | None,
        max_tokens: int | None,
        timeout: float | None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = dict(self.settings.defaults)
        if temperature is not None:
            params["temperature"] = temperature
        if max_tokens is not None:
            params["max_tokens"] = max_tokens
        kwargs: dict[str, Any] = {
            "model": self.settings.model,
            "messages": [dict(message) for message in messages],
        }
        extra_body: dict[str, Any] = {}
        for name, value in params.items():
            if value is None:
                continue
            if name == "max_tokens":
                kwargs[self.settings.spec.max_tokens_param] = value
            elif name in KNOWN_DEFAULTS:
                kwargs[name] = value
            else:
                extra_body[name] = value
        if tools:
            kwargs["tools"] = tools
        if extra_body:
            kwargs["extra_body"] = extra_body
        if self._extra_headers:
            kwargs["extra_headers"] = self._extra_headers
        if timeout is not None:
            kwargs["timeout"] = timeout
        return kwargs

    def _completion_from(self, response: Any, started: float) -> Completion:
        if isinstance(response, str):
            # The SDK hands back the raw text when the Content-Type is not JSON.
            raise self._bad_response("answered with non-JSON content")
        try:
            choices = response.choices
            if not choices:
                raise self._bad_response("answered without any choices")
            choice = choices[0]
            message = choice.message
            calls = [
                _tool_call(
                    getattr(call, "id", None) or f"call_{position}",
                    call.function.name,
                    call.function.arguments,
                )
                for position, call in enumerate(message.tool_calls or [])
                if getattr(call, "function", None) is not None
            ]
            return Completion(
                text=message.content or "",
                tool_calls=calls,
                usage=_usage_from(getattr(response, "usage", None)),
                model=getattr(response, "model", None) or self.settings.model,
                latency_ms=_elapsed_ms(started),
                finish_reason=choice.finish_reason,
            )
        except (AttributeError, TypeError, KeyError) as exc:
            raise self._bad_response(f"sent a completion of an unexpected shape ({exc})") from None

    def _where(self) -> str:
        return f"{self.settings.spec.label} at {self.settings.resolved_base_url}"

    def _bad_response(self, what: str) -> LLMError:
        return LLMError(
            self._scrub(
                f"{self._where()} {what}; check that base_url points at an OpenAI-compatible API "
                f"(usually ending in /v1)."
            ),
            ErrorCode.BAD_RESPONSE,
        )

    def _scrub(self, text: str) -> str:
        return scrub(text, [self.settings.api_key])

    def _llm_error(self, exc: Exception, timeout: float | None) -> LLMError:
        """Translate an SDK or parsing failure into an actionable, secret-free LLMError."""
        if isinstance(exc, LLMError):
            return exc
        where = self._where()
        if isinstance(exc, openai.APITimeoutError):
            seconds = timeout if timeout is not None else self.settings.timeout_s
            return LLMError(
                self._scrub(
                    f"{where} did not answer within {seconds:g} s; check that the server is up and "
                    f"not overloaded, or raise the timeout."
                ),
                ErrorCode.TIMEOUT,
                retryable=True,
            )
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            detail = f" ({cause})" if cause else ""
            return LLMError(
                self._scrub(
                    f"Could not connect to {where}{detail}; check that the server is running and "
                    f"that base_url is right."
                ),
                ErrorCode.CONNECTION_FAILED,
                retryable=True,
            )
        if isinstance(exc, openai.APIResponseValidationError):
            return self._bad_response("sent a response that does not match the API")
        if isinstance(exc, openai.APIStatusError):
            return self._status_error(exc)
        if isinstance(exc, openai.APIError):
            # An error object inside an otherwise successful stream.
            return LLMError(
                self._scrub(f"{where} reported an error while answering: {_clip(exc.message)}"),
                ErrorCode.UPSTREAM_ERROR,
            )
        if isinstance(exc, ValueError):  # JSONDecodeError from a body that is not valid JSON
            return self._bad_response("sent a body that is not valid JSON")
        if isinstance(exc, (AttributeError, TypeError)):
            return self._bad_response(f"sent data of an unexpected shape ({exc})")
        return LLMError(
            self._scrub(f"The call to {where} failed: {_clip(str(exc))}"), ErrorCode.UPSTREAM_ERROR
        )

    def _status_error(self, exc: openai.APIStatusError) -> LLMError:
        status = exc.status_code
        where = self._where()
        upstream = _clip(_upstream_message(exc))
        said = f": {upstream}" if upstream else ""
        retry_after = _retry_after_seconds(exc.response.headers)
        if status in (401, 403):
            text = (
                f"{where} refused the credentials (HTTP {status}){said}. Check the API key in "
                f"the model configuration."
            )
            code, retryable = ErrorCode.AUTH_FAILED, False
        elif status == 404:
            text = (
                f"{where} answered 404 Not Found{said}. Check the model name "
                f"{self.settings.model!r} and that base_url ends where the API lives (usually /v1)."
            )
            code, retryable = ErrorCode.NOT_FOUND, False
        elif status == 429:
            text = (
                f"{where} is rate limiting requests (HTTP 429){said}. Wait and try again, or "
                f"raise the quota."
            )
            code, retryable = ErrorCode.RATE_LIMITED, True
        elif status == 408:
            text = f"{where} timed out the request (HTTP 408){said}."
            code, retryable = ErrorCode.TIMEOUT, True
        elif status >= 500:
            text = (
                f"{where} failed with HTTP {status}{said}. The model server may be down or "
                f"overloaded."
            )
            code, retryable = ErrorCode.UPSTREAM_ERROR, True
        else:
            text = (
                f"{where} rejected the request (HTTP {status}){said}. Check the model name, the "
                f"parameters and the messages."
            )
            code, retryable = ErrorCode.BAD_REQUEST, False
        return LLMError(
            self._scrub(text),
            code,
            status_code=status,
            retryable=retryable,
            retry_after=retry_after,
        )

    def _maybe_wait_before_retry(self, error: LLMError, attempts: int) -> None:
        """Sleep before the next attempt, or raise `error` if it must not be retried."""
        # Timeouts are not retried: each attempt would wait the whole timeout again, multiplying
        # what the user waits; the workflow node's own retry policy can choose to.
        retried = error.retryable and error.code != ErrorCode.TIMEOUT
        if not retried or attempts > self.settings.max_retries:
            raise error from None
        delay = self._retry_delay(error, attempts)
        logger.info(
            "LLM call to %s failed with %s; retry %d of %d in %.2f s",
            self._where(),
            error.code,
            attempts,
            self.settings.max_retries,
            delay,
        )
        self._sleep(delay)

    def _retry_delay(self, error: LLMError, attempts: int) -> float:
        cap = self.settings.backoff_max_s
        if error.retry_after is not None:
            return max(0.0, min(error.retry_after, cap))
        return min(cap, self.settings.backoff_base_s * 2 ** (attempts - 1))

    def _report(
        self,
        per_call_hook: OnLLMCall | None,
        started: float,
        attempts: int,
        *,
        streamed: bool,
        completion: Completion | None = None,
        error: LLMError | None = None,
        cancelled: bool = False,
    ) -> None:
        hooks = [hook for hook in (self.on_llm_call, per_call_hook) if hook is not None]
        if not hooks:
            return
        usage = completion.usage if completion else Usage()
        record = LLMCallRecord(
            provider=self.settings.provider,
            model=(completion.model if completion else "") or self.settings.model,
            base_url=self.settings.resolved_base_url,
            status="ok" if completion else ("cancelled" if cancelled else "error"),
            latency_ms=completion.latency_ms if completion else _elapsed_ms(started),
            attempts=attempts,
            streamed=streamed,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            total_tokens=usage.total_tokens,
            finish_reason=completion.finish_reason if completion else None,
            error_code=error.code if error else None,
            error_message=error.message if error else None,
        )
        for hook in hooks:
            try:
                hook(record)
            except Exception:
                # Monitoring must never break the call it observes.
                logger.exception("on_llm_call hook failed")


def test_connection(
    settings: ModelSettings, *, http_client: Any | None = None, timeout: float | None = None
) -> tuple[bool, str, int]:
    """Check a model config: (ok, a message for the user, latency in ms).

    Lists the models first (free); only when the model is not listed (or the server has no
    listing) does it spend a one-token completion to see whether the model answers. No retries:
    a "test" button should report what happens now. `timeout` overrides `settings.timeout_s`.
    """
    started = time.monotonic()
    changes: dict[str, Any] = {"max_retries": 0}
    if timeout is not None:
        changes["timeout_s"] = timeout
    try:
        client = LLMClient(settings.replace(**changes), http_client)
    except LLMError as error:
        return False, error.message, _elapsed_ms(started)
    where = f"{settings.spec.label} at {settings.resolved_base_url}"
    with client:
        try:
            listed = client.list_models()
        except LLMError as error:
            if error.code not in (
                ErrorCode.NOT_FOUND,
                ErrorCode.BAD_REQUEST,
                ErrorCode.BAD_RESPONSE,
            ):
                return False, error.message, _elapsed_ms(started)
            listed = []  # no usable listing: fall through to a real call
        if _model_listed(settings.model, listed):
            return (
                True,
                f"Connected to {where}; model {settings.model!r} is available.",
                _elapsed_ms(started),
            )
        try:
            client.complete([{"role": "user", "content": "ping"}], max_tokens=1)
        except LLMError as error:
            return False, error.message, _elapsed_ms(started)
        return (
            True,
            f"Connected to {where}; model {settings.model!r} answered.",
            _elapsed_ms(started),
        )


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test when imported


class _ToolCallAssembler:
    """Joins streamed tool-call fragments (id and name first, arguments in pieces) into calls."""

    def __init__(self) -> None:
        self._slots: list[dict[str, Any]] = []
        self._by_index: dict[int, int] = {}

    def add(self, fragment: Any) -> None:
        index = getattr(fragment, "index", None)
        call_id = getattr(fragment, "id", None)
        function = getattr(fragment, "function", None)
        position = self._by_index.get(index) if index is not None else None
        if position is None and index is None and self._slots and not call_id:
            position = len(self._slots) - 1  # servers without indexes continue the last call
        if position is not None and call_id and self._slots[position]["id"] not in (None, call_id):
            position = None  # a new call reusing an index (seen from some local servers)
        if position is None:
            self._slots.append({"id": call_id, "name": "", "arguments": []})
            position = len(self._slots) - 1
            if index is not None:
                self._by_index[index] = position
        slot = self._slots[position]
        if call_id:
            slot["id"] = call_id
        if function is not None:
            if getattr(function, "name", None):
                slot["name"] = function.name
            arguments = getattr(function, "arguments", None)
            if isinstance(arguments, dict):
                slot["arguments"] = [json.dumps(arguments)]
            elif arguments:
                slot["arguments"].append(arguments)

    def finish(self) -> list[ToolCall]:
        return [
            _tool_call(slot["id"] or f"call_{position}", slot["name"], "".join(slot["arguments"]))
            for position, slot in enumerate(self._slots)
        ]


def _not_a_json_number(token: str):
    raise ValueError(f"{token} is not a JSON number")


def _tool_call(call_id: str, name: str, arguments: Any) -> ToolCall:
    if isinstance(arguments, dict):  # some servers send an object instead of a JSON string
        return ToolCall(call_id, name, arguments, json.dumps(arguments))
    raw = arguments or ""
    if not raw.strip():
        return ToolCall(call_id, name, {}, raw)
    try:
        parsed = json.loads(raw, parse_constant=_not_a_json_number)
    except ValueError as exc:
        return ToolCall(
            call_id, name, {}, raw, arguments_error=f"arguments are not valid JSON ({exc})"
        )
    if not isinstance(parsed, dict):
        return ToolCall(call_id, name, {}, raw, arguments_error="arguments must be a JSON object")
    return ToolCall(call_id, name, parsed, raw)


def _usage_from(usage: Any) -> Usage:
    if usage is None:
        return Usage()
    prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
    completion = int(getattr(usage, "completion_tokens", 0) or 0)
    total = int(getattr(usage, "total_tokens", 0) or 0) or prompt + completion
    return Usage(prompt, completion, total)


def _upstream_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        message = body.get("message") or body.get("error") or body.get("detail")
        if isinstance(message, dict):
            message = message.get("message")
        if message:
            return str(message)
    if isinstance(body, str) and body.strip():
        return body
    return ""


def _clip(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > _UPSTREAM_MESSAGE_LIMIT:
        text = text[: _UPSTREAM_MESSAGE_LIMIT - 1] + "…"
    return text


def _retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds from `retry-after-ms` (OpenAI) or `Retry-After` (seconds or an HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _model_listed(model: str, listed: list[str]) -> bool:
    # Ollama lists "llama3:latest" for a model configured as "llama3".
    return model in listed or f"{model}:latest" in listed


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
