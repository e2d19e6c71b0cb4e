"""An OTLP/HTTP span encoder that writes the protobuf wire format directly.

The official exporter builds a protobuf message object for every span, attribute and
value (`encode_spans(spans).SerializePartialToString()`): 25-32 us of CPU per span on the
lab machine (512 typical server/db spans, one core). Writing the ExportTraceServiceRequest
bytes straight from the ReadableSpans, with resource, scope and repeated key/value parts
cached, takes 5-5.5 us.

It covers all the official encoder emits: grouping by resource then scope (first-seen
order, merged by their __hash__/__eq__), ids, trace_state, parent, flags with the is_remote
bits, kind, times, attributes of every `_encode_value` type (a value it cannot encode drops
its key, logged), events, links, status, dropped counts, schema_urls. Like it, it leaves
out a link's trace_state. tests/unit/telemetry/test_otlp_encoder.py checks the output
against the official encoder's: equal decoded messages and identical bytes.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.exporter.otlp.proto.http._common import (
    RequestPayloadTooLargeError,
    _is_request_too_large,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.semconv.attributes.http_attributes import HTTP_RESPONSE_STATUS_CODE
from opentelemetry.trace import SpanContext, SpanKind

_logger = logging.getLogger(__name__)

_BYTE = tuple(bytes((i,)) for i in range(256))
_pack_double = struct.Struct("<d").pack
_INT64_MIN, _INT64_MAX, _UINT64_MASK = -(1 << 63), (1 << 63) - 1, (1 << 64) - 1
# Span.kind (field 6) with the proto enum values; the SDK's SpanKind values differ.
_KIND = {
    SpanKind.INTERNAL: b"\x30\x01",
    SpanKind.SERVER: b"\x30\x02",
    SpanKind.CLIENT: b"\x30\x03",
    SpanKind.PRODUCER: b"\x30\x04",
    SpanKind.CONSUMER: b"\x30\x05",
}
# fixed32 flags: SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK, | CONTEXT_IS_REMOTE_MASK if remote.
_SPAN_FLAGS = (b"\x85\x01\x00\x01\x00\x00", b"\x85\x01\x00\x03\x00\x00")  # Span field 16
_LINK_FLAGS = (b"\x35\x00\x01\x00\x00", b"\x35\x00\x03\x00\x00")  # Link field 6
# Per-process caches, cleared when full so that odd callers cannot grow them without bound.
_PARTS_MAX, _KVS_MAX, _KV_MAX_STR = 1024, 4096, 1024  # at most a few MB
_PARTS: dict[int, tuple[object, bytes, bytes]] = {}  # see _parts
_KVS: dict[tuple[str, Any, type], bytes] = {}  # see _attributes
_DIRECT: dict[type, bool] = {}  # see _direct

_Scope = InstrumentationScope | None
_Scopes = dict[_Scope, bytearray]


def _varint(n: int) -> bytes:
    if n < 0x80:
        return _BYTE[n]
    if n < 0x4000:
        return bytes(((n & 0x7F) | 0x80, n >> 7))
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(tag: bytes, body: bytes | bytearray) -> bytes:
    """A length-delimited field: tag, varint length, body."""
    return tag + _varint(len(body)) + body


def _uint32(n: int) -> bytes:
    if not 0 <= n < 1 << 32:  # protobuf refuses these too
        raise ValueError(f"Value out of range: {n}")
    return _varint(n)


def _any_value(value: Any) -> bytes:
    """AnyValue body; the same checks in the same order as the official `_encode_value`."""
    if value is None:
        return b""
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, str):
        return _field(b"\x0a", value.encode())
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"Value out of range: {value}")
        return b"\x18" + _varint(value & _UINT64_MASK)  # negatives: 10-byte two's complement
    if isinstance(value, float):
        return b"\x21" + _pack_double(value)
    if isinstance(value, bytes):
        return _field(b"\x3a", value)
    if isinstance(value, Sequence):
        return _field(b"\x2a", b"".join([_field(b"\x0a", _any_value(v)) for v in value]))
    if isinstance(value, Mapping):
        pairs = [_field(b"\x0a", _key_value(str(k), v)) for k, v in value.items()]
        return _field(b"\x32", b"".join(pairs))
    raise Exception(f"Invalid type {type(value)} of value {value}")


def _key_value(key: str, value: Any) -> bytes:
    # An empty key (possible in a nested mapping) is left out, as proto3 leaves it out.
    return (_field(b"\x0a", key.encode()) if key else b"") + _field(b"\x12", _any_value(value))


def _attributes(tag: bytes, attributes: Mapping[str, Any] | None) -> bytes:
    """Repeated KeyValue under `tag`; a value that cannot be encoded drops only its key."""
    if not attributes:
        return b""
    parts: list[bytes] = []
    for key, value in attributes.items():
        kind = type(value)
        try:
            if kind is int or kind is bool or (kind is str and len(value) <= _KV_MAX_STR):
                # Scalar values repeat across spans (methods, routes, statements): cache the
                # length-prefixed KeyValue. The type is part of the key because 1 == True.
                cache_key = (key, value, kind)
                kv = _KVS.get(cache_key)
                if kv is None:
                    if len(_KVS) >= _KVS_MAX:
                        _KVS.clear()
                    body = _key_value(key, value)
                    kv = _KVS[cache_key] = _varint(len(body)) + body
            else:
                body = _key_value(key, value)
                kv = _varint(len(body)) + body
        except Exception as error:
            _logger.exception("Failed to encode key %s: %s", key, error)
            continue
        parts.append(tag)
        parts.append(kv)
    return b"".join(parts)


def _parts(obj: Resource | _Scope) -> tuple[bytes, bytes]:
    """The `resource`/`scope` field (1) and the `schema_url` field (3) of a ResourceSpans or
    ScopeSpans. Resources and scopes are immutable and long-lived: cached by identity (the
    entry holds `obj`, so its id cannot be reused while cached)."""
    entry = _PARTS.get(id(obj))
    if entry is None:
        if len(_PARTS) >= _PARTS_MAX:
            _PARTS.clear()
        body, schema_url = b"", None
        if isinstance(obj, Resource):
            body, schema_url = _attributes(b"\x0a", obj.attributes), obj.schema_url
        elif obj is not None:
            name, version, schema_url = obj.name, obj.version, obj.schema_url
            body += _field(b"\x0a", name.encode()) if name else b""
            body += _field(b"\x12", version.encode()) if version else b""
            body += _attributes(b"\x1a", obj.attributes)
        tail = _field(b"\x1a", schema_url.encode()) if schema_url else b""
        entry = _PARTS[id(obj)] = (obj, _field(b"\x0a", body), tail)
    return entry[1], entry[2]


def _direct(cls: type) -> bool:
    """Whether `cls` keeps ReadableSpan's `attributes`, `events` and `links` properties.

    Those copy what they wrap (a MappingProxyType, tuples of BoundedLists): ~2.5 us a span,
    a third of this encoder's time. Spans of such classes are read directly (exported spans
    have ended, so nothing mutates them); other classes through their properties.
    """
    direct = _DIRECT[cls] = all(
        getattr(cls, name) is getattr(ReadableSpan, name)
        for name in ("attributes", "events", "links")
    )
    return direct


def _span(span: ReadableSpan) -> bytes:
    """One ScopeSpans.spans entry (field 2), fields in number order as protobuf writes them."""
    attributes: Mapping[str, Any] | None
    if _DIRECT.get(type(span)) or _direct(type(span)):
        attributes = span._attributes
        if type(attributes) is BoundedAttributes:
            attributes = attributes._dict
        events, links = span._events or (), span._links or ()
    else:
        attributes, events, links = span.attributes, span.events, span.links
    ctx = span.get_span_context()
    assert ctx is not None  # the SDK always sets one
    b = bytearray(b"\x0a\x10")
    b += ctx.trace_id.to_bytes(16, "big")
    b += b"\x12\x08"
    b += ctx.span_id.to_bytes(8, "big")
    trace_state = ctx.trace_state
    if trace_state:
        b += _field(b"\x1a", ",".join([f"{k}={v}" for k, v in trace_state.items()]).encode())
    parent: SpanContext | None = span.parent
    if parent:
        b += b"\x22\x08"
        b += parent.span_id.to_bytes(8, "big")
    if span.name:
        b += _field(b"\x2a", span.name.encode())
    b += _KIND[span.kind]
    if start := span.start_time:
        b += b"\x39"
        b += start.to_bytes(8, "little")
    if end := span.end_time:
        b += b"\x41"
        b += end.to_bytes(8, "little")
    b += _attributes(b"\x4a", attributes)
    if dropped := span.dropped_attributes:
        b += b"\x50" + _uint32(dropped)
    for event in events:
        e = b"\x09" + event.timestamp.to_bytes(8, "little") if event.timestamp else b""
        e += _field(b"\x12", event.name.encode()) if event.name else b""
        e += _attributes(b"\x1a", event.attributes)
        e += b"\x20" + _uint32(event.dropped_attributes) if event.dropped_attributes else b""
        b += _field(b"\x5a", e)
    if dropped := span.dropped_events:
        b += b"\x60" + _uint32(dropped)
    for link in links:
        # The official encoder does not export a link's trace_state (field 3): neither do we.
        lc = link.context
        li = b"\x0a\x10" + lc.trace_id.to_bytes(16, "big") + b"\x12\x08"
        li += lc.span_id.to_bytes(8, "big") + _attributes(b"\x22", link.attributes)
        li += b"\x28" + _uint32(link.dropped_attributes) if link.dropped_attributes else b""
        b += _field(b"\x6a", li + _LINK_FLAGS[bool(lc and lc.is_remote)])
    if dropped := span.dropped_links:
        b += b"\x70" + _uint32(dropped)
    status = span.status
    if status is not None:  # present even when empty (UNSET), as the official sets it
        description, code = status.description, status.status_code.value
        s = _field(b"\x12", description.encode()) if description else b""
        b += _field(b"\x7a", s + b"\x18" + _varint(code) if code else s)
    b += _SPAN_FLAGS[bool(parent and parent.is_remote)]
    return _field(b"\x12", b)


def encode_spans(spans: Sequence[ReadableSpan]) -> bytes:
    """The serialized ExportTraceServiceRequest for `spans`."""
    # Grouped by resource, then scope, in dicts as the official encoder does: first-seen
    # order, equal objects merged by their __hash__/__eq__. Those (Resource.__hash__ is a
    # json.dumps) run once per distinct pair of objects, found by identity for every span.
    groups: dict[Resource, _Scopes] = {}
    buffers: dict[tuple[int, int], bytearray] = {}
    for span in spans:
        resource, scope = span.resource, span.instrumentation_scope or None
        buf = buffers.get((id(resource), id(scope)))
        if buf is None:
            scopes = groups.setdefault(resource, {})
            buf = buffers[id(resource), id(scope)] = scopes.setdefault(scope, bytearray())
        buf += _span(span)
    out = bytearray()
    for resource, scopes in groups.items():
        head, tail = _parts(resource)
        body = bytearray(head)
        for scope, encoded_spans in scopes.items():
            scope_head, scope_tail = _parts(scope)
            body += _field(b"\x12", scope_head + encoded_spans + scope_tail)
        out += _field(b"\x0a", body + tail)
    return bytes(out)


class FastOTLPSpanExporter(OTLPSpanExporter):
    """OTLPSpanExporter that serializes with `encode_spans` above."""

    # The parent's `export` calls its module's `encode_spans` inline and offers no hook, and
    # patching that module global would change every exporter in the process. So this is the
    # parent's 1.45 `export` with only the encoding line changed; retry, compression, headers
    # and timeouts stay in `self._client.export`. It relies on `_is_request_too_large`,
    # `RequestPayloadTooLargeError`, `_shutdown`, `_metrics`, `_max_request_size` and
    # `_client`: a release that renames them fails at import or in the exporter tests.
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            _logger.warning("Exporter already shutdown, ignoring batch")
            return SpanExportResult.FAILURE

        with self._metrics.export_operation(len(spans)) as result:
            try:
                serialized_data = encode_spans(spans)
            except Exception as error:
                _logger.error("Failed to encode span batch: %s", error)
                result.error = error
                return SpanExportResult.FAILURE

            if _is_request_too_large(serialized_data, self._max_request_size):
                _logger.warning(
                    "Dropping span batch: serialized size %d bytes exceeds max_request_size "
                    "%d bytes.",
                    len(serialized_data),
                    self._max_request_size,
                )
                result.error = RequestPayloadTooLargeError(
                    f"Serialized span request size {len(serialized_data)} "
                    f"bytes exceeds max_request_size "
                    f"{self._max_request_size} bytes."
                )
                return SpanExportResult.FAILURE

            export_result = self._client.export(serialized_data)
            if not export_result.success:
                result.error = export_result.error
                result.error_attrs = (
                    {HTTP_RESPONSE_STATUS_CODE: export_result.status_code}
                    if export_result.status_code is not None
                    else None
                )
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS
