"""A small MQTT 5.0 client-side codec for byte-level broker tests (OASIS mqtt-v5.0-os).

Written from the specification, independent of the broker's C codec: properties (2.2.2),
CONNECT, PUBLISH, SUBSCRIBE, UNSUBSCRIBE, DISCONNECT, AUTH and the acknowledgements, and the
decoders of what the broker sends back.
"""

import struct

from harness import RawClient, enc_bytes, enc_varint, packet

# property identifier -> type (2.2.2.2)
BYTE, U16, U32, VBI, UTF8, PAIR, BIN = range(7)
PROP_TYPES = {
    0x01: BYTE, 0x02: U32, 0x03: UTF8, 0x08: UTF8, 0x09: BIN, 0x0B: VBI, 0x11: U32,
    0x12: UTF8, 0x13: U16, 0x15: UTF8, 0x16: BIN, 0x17: BYTE, 0x18: U32, 0x19: BYTE,
    0x1A: UTF8, 0x1C: UTF8, 0x1F: UTF8, 0x21: U16, 0x22: U16, 0x23: U16, 0x24: BYTE,
    0x25: BYTE, 0x26: PAIR, 0x27: U32, 0x28: BYTE, 0x29: BYTE, 0x2A: BYTE,
}
PAYLOAD_FORMAT, MESSAGE_EXPIRY, CONTENT_TYPE = 0x01, 0x02, 0x03
RESPONSE_TOPIC, CORRELATION_DATA, SUBSCRIPTION_ID = 0x08, 0x09, 0x0B
SESSION_EXPIRY, ASSIGNED_CLIENT_ID, SERVER_KEEP_ALIVE = 0x11, 0x12, 0x13
AUTH_METHOD, REQUEST_PROBLEM_INFO, WILL_DELAY = 0x15, 0x17, 0x18
REASON_STRING, RECEIVE_MAX, TOPIC_ALIAS_MAX, TOPIC_ALIAS = 0x1F, 0x21, 0x22, 0x23
RETAIN_AVAILABLE, USER_PROPERTY, MAX_PACKET_SIZE = 0x25, 0x26, 0x27
WILDCARD_AVAILABLE, SUB_ID_AVAILABLE, SHARED_AVAILABLE = 0x28, 0x29, 0x2A

CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 2, 3, 4, 5, 6, 7
SUBACK, UNSUBACK, PINGRESP, DISCONNECT, AUTH = 9, 11, 13, 14, 15


def enc_props(props):
    """@props: list of (id, value); a pair is a (name, value) tuple."""
    out = b""
    for pid, v in props:
        t = PROP_TYPES[pid]
        out += enc_varint(pid)
        if t == BYTE:
            out += bytes([v])
        elif t == U16:
            out += struct.pack("!H", v)
        elif t == U32:
            out += struct.pack("!I", v)
        elif t == VBI:
            out += enc_varint(v)
        elif t in (UTF8, BIN):
            out += enc_bytes(v)
        else:
            out += enc_bytes(v[0]) + enc_bytes(v[1])
    return enc_varint(len(out)) + out


def dec_varint(b, off):
    n, mult = 0, 1
    while True:
        d = b[off]
        off += 1
        n += (d & 0x7F) * mult
        mult *= 128
        if not d & 0x80:
            return n, off


def dec_props(b, off):
    """Returns (list of (id, value), offset after the block)."""
    length, off = dec_varint(b, off)
    end, out = off + length, []
    while off < end:
        pid, off = dec_varint(b, off)
        t = PROP_TYPES[pid]
        if t == BYTE:
            v, off = b[off], off + 1
        elif t == U16:
            (v,), off = struct.unpack("!H", b[off:off + 2]), off + 2
        elif t == U32:
            (v,), off = struct.unpack("!I", b[off:off + 4]), off + 4
        elif t == VBI:
            v, off = dec_varint(b, off)
        elif t in (UTF8, BIN):
            (n,) = struct.unpack("!H", b[off:off + 2])
            v, off = bytes(b[off + 2:off + 2 + n]), off + 2 + n
            if t == UTF8:
                v = v.decode()
        else:
            (n,) = struct.unpack("!H", b[off:off + 2])
            k = b[off + 2:off + 2 + n].decode()
            off += 2 + n
            (n,) = struct.unpack("!H", b[off:off + 2])
            v, off = (k, b[off + 2:off + 2 + n].decode()), off + 2 + n
        out.append((pid, v))
    return out, end


def prop(props, pid, default=None):
    for k, v in props:
        if k == pid:
            return v
    return default


def connect5(client_id, clean=True, keepalive=60, props=(), will=None, will_props=(),
             username=None, password=None):
    """@will: (topic, payload, qos, retain)."""
    flags = 0x02 if clean else 0
    payload = enc_bytes(client_id)
    if will:
        topic, msg, qos, retain = will
        flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
        payload += enc_props(list(will_props)) + enc_bytes(topic) + enc_bytes(msg)
    if username is not None:
        flags |= 0x80
        payload += enc_bytes(username)
    if password is not None:
        flags |= 0x40
        payload += enc_bytes(password)
    body = enc_bytes(b"MQTT") + bytes([5, flags]) + struct.pack("!H", keepalive)
    return packet(0x10, body + enc_props(list(props)) + payload)


def publish5(topic, payload=b"", qos=0, retain=False, pid=1, props=(), dup=False):
    if isinstance(payload, str):
        payload = payload.encode()
    first = 0x30 | (qos << 1) | (1 if retain else 0) | (8 if dup else 0)
    body = enc_bytes(topic) + (struct.pack("!H", pid) if qos else b"")
    return packet(first, body + enc_props(list(props)) + payload)


def subscribe5(pid, filters, props=()):
    """@filters: list of (filter, options byte)."""
    body = struct.pack("!H", pid) + enc_props(list(props))
    for f, o in filters:
        body += enc_bytes(f) + bytes([o])
    return packet(0x82, body)


def unsubscribe5(pid, filters):
    body = struct.pack("!H", pid) + enc_props([])
    return packet(0xA2, body + b"".join(enc_bytes(f) for f in filters))


def ack5(ptype, pid, reason=None):
    flags = 0x02 if ptype == PUBREL else 0
    body = struct.pack("!H", pid) + (bytes([reason, 0]) if reason is not None else b"")
    return packet((ptype << 4) | flags, body)


def disconnect5(reason=0, props=()):
    return packet(0xE0, bytes([reason]) + enc_props(list(props)))


def parse_publish5(pkt):
    """Returns dict(topic, payload, qos, retain, dup, pid, props)."""
    assert pkt.type == PUBLISH, "expected PUBLISH, got %r" % (pkt,)
    qos = (pkt.flags >> 1) & 3
    (tlen,) = struct.unpack("!H", pkt.body[:2])
    off, pid = 2 + tlen, None
    if qos:
        (pid,) = struct.unpack("!H", pkt.body[off:off + 2])
        off += 2
    props, off = dec_props(pkt.body, off)
    return dict(topic=pkt.body[2:2 + tlen].decode(), payload=pkt.body[off:], qos=qos,
                retain=bool(pkt.flags & 1), dup=bool(pkt.flags & 8), pid=pid, props=props)


def parse_reason_packet(pkt):
    """DISCONNECT / AUTH: (reason, props)."""
    if not pkt.body:
        return 0, []
    props, _ = dec_props(pkt.body, 1) if len(pkt.body) > 1 else ([], 1)
    return pkt.body[0], props


def parse_ack5(pkt):
    """PUBACK..PUBCOMP: (pid, reason)."""
    (pid,) = struct.unpack("!H", pkt.body[:2])
    return pid, (pkt.body[2] if len(pkt.body) > 2 else 0)


def parse_suback5(pkt):
    """SUBACK / UNSUBACK: (pid, props, codes)."""
    (pid,) = struct.unpack("!H", pkt.body[:2])
    props, off = dec_props(pkt.body, 2)
    return pid, props, list(pkt.body[off:])


class Raw5(RawClient):
    """RawClient speaking 5.0."""

    def connect5(self, client_id, timeout=5.0, **kw):
        """Sends CONNECT; returns (session_present, reason, props) of the CONNACK."""
        self.send(connect5(client_id, **kw))
        pkt = self.expect_packet(CONNACK, timeout)
        props, _ = dec_props(pkt.body, 2)
        return bool(pkt.body[0] & 1), pkt.body[1], props

    def subscribe(self, pid, filters, props=()):
        self.send(subscribe5(pid, filters, props))
        return parse_suback5(self.expect_packet(SUBACK))

    def expect_disconnect(self, timeout=5.0):
        """The next packet is a DISCONNECT and the connection then closes: its reason."""
        pkt = self.expect_packet(DISCONNECT, timeout)
        reason, props = parse_reason_packet(pkt)
        self.expect_closed(timeout)
        return reason, props
