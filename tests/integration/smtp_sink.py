"""SmtpSink: a throw-away SMTP server for integration tests that need the mail iotcloud sends.

Runs aiosmtpd (Debian python3-aiosmtpd) in this process on 127.0.0.1 and a free port, keeps
every message it accepts, and lets a test wait for the one sent to an address:

    from smtp_sink import SmtpSink

    with SmtpSink() as sink:
        server = start iotcloud with ["--smtp-url", sink.url, "--smtp-insecure", ...]
        ... sign up as alice@example.com over HTTP ...
        mail = sink.wait_for("alice@example.com", timeout=10)
        assert "Confirm" in mail.subject
        code = re.search(r"\\b(\\d{6})\\b", mail.body).group(1)

Recipients listed in reject= are refused with a permanent 550 (for tests of failed mail).
The server offers no STARTTLS, so iotcloud needs --smtp-insecure.

Run this file directly for a self-test (sends two mails with smtplib).
"""

import email
import email.policy
import threading
import time
from collections import namedtuple

from aiosmtpd.controller import Controller

from harness import free_port

HOST = "127.0.0.1"

# One accepted message: envelope (mail_from, rcpt_tos) and the parsed RFC 5322 message.
Mail = namedtuple("Mail", "mail_from rcpt_tos to subject body message raw")


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.sink.reject:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.sink._add(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content
                       or envelope.content)
        return "250 Message accepted for delivery"


class SmtpSink:
    """An SMTP server collecting messages; start()/stop() or use it as a context manager."""

    def __init__(self, reject=()):
        self.reject = {a.lower() for a in reject}
        self.port = free_port()
        self.url = "smtp://%s:%d" % (HOST, self.port)
        self.messages = []
        self._cond = threading.Condition()
        self._controller = Controller(_Handler(self), hostname=HOST, port=self.port)

    def start(self):
        self._controller.start()
        return self

    def stop(self):
        self._controller.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _add(self, mail_from, rcpt_tos, raw):
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        part = msg.get_body(preferencelist=("plain",))
        body = part.get_content() if part is not None else ""
        mail = Mail(mail_from, rcpt_tos, str(msg.get("To", "")), str(msg.get("Subject", "")),
                    body, msg, raw)
        with self._cond:
            self.messages.append(mail)
            self._cond.notify_all()

    def _find(self, to):
        to = to.lower()
        for m in self.messages:
            if to in (r.lower() for r in m.rcpt_tos):
                return m
        return None

    def wait_for(self, to, timeout=10.0):
        """The first message whose envelope recipient is @to; AssertionError after @timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = self._find(to)
                if m is not None:
                    return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no mail to %s within %.1f s (got %d for %s)" % (
                        to, timeout, len(self.messages),
                        [r for m in self.messages for r in m.rcpt_tos]))
                self._cond.wait(left)

    def count(self, to=None):
        """How many messages arrived (for @to only when given)."""
        with self._cond:
            if to is None:
                return len(self.messages)
            return sum(1 for m in self.messages if to.lower() in (r.lower() for r in m.rcpt_tos))


def _self_test():
    import smtplib
    with SmtpSink(reject=["nobody@example.com"]) as sink:
        with smtplib.SMTP(HOST, sink.port) as c:
            c.sendmail("a@example.com", ["bob@example.com"],
                       "To: bob@example.com\r\nSubject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n"
                       "Content-Type: text/plain; charset=utf-8\r\n\r\ncode 123456\r\n")
            try:
                c.sendmail("a@example.com", ["nobody@example.com"], "Subject: x\r\n\r\nx\r\n")
                raise AssertionError("a rejected recipient was accepted")
            except smtplib.SMTPRecipientsRefused as e:
                assert e.recipients["nobody@example.com"][0] == 550
        m = sink.wait_for("BOB@example.com", timeout=5)
        assert m.subject == "Grüße", m.subject
        assert m.body.strip() == "code 123456", m.body
        assert sink.count() == 1 and sink.count("nobody@example.com") == 0
        try:
            sink.wait_for("carol@example.com", timeout=0.2)
            raise RuntimeError("wait_for found a mail never sent")
        except AssertionError:
            pass
    print("smtp_sink self-test ok")


if __name__ == "__main__":
    _self_test()
