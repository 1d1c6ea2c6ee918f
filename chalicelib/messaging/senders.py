"""Where rendered emails go: `file` (the embedded default), `console`, `smtp`, `ses`.

A sender's `send(email)` returns once the message is accepted, and raises otherwise:
TransientSendError (or any OSError) is worth retrying, PermanentSendError is not.
"""

import base64
import email.utils
import logging
import os
import smtplib
import ssl
import sys
import threading
from email.header import Header
from typing import ClassVar

from ..config import Settings
from ..domain.errors import ConfigurationError
from ..secrets import SecretStore
from .emails import Email

log = logging.getLogger("ats.email")


class PermanentSendError(Exception):
    """The mail service refused the message for good (a 5xx answer): retrying will not help."""


def _header(value: str) -> str:
    """One header line's value: CR/LF removed (no header injection through a job title or a
    name), RFC 2047-encoded when not ASCII."""
    value = " ".join(value.splitlines())
    return value if value.isascii() else Header(value, "utf-8").encode(linesep="\r\n")


def _address(name: str, address: str) -> str:
    if not address.isascii():  # registration refuses these; one stored earlier can never be sent
        raise PermanentSendError(f"the address {address!r} is not ASCII")
    return email.utils.formataddr((" ".join(name.splitlines()), address))


def _part(content_type: str, body: str) -> bytes:
    encoded = base64.encodebytes(body.encode("utf-8")).replace(b"\n", b"\r\n")
    return (
        f'Content-Type: {content_type}; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    ).encode() + encoded


def build_message(mail: Email, sender: str) -> bytes:
    """The message as sent: multipart/alternative, plain text then HTML, UTF-8, CRLF line ends.

    Written out directly rather than through the email package's generator, which costs about
    a millisecond a message (a third of the budget at 300 emails/s).
    """
    boundary = f"=_ats_{mail.event_id}_{mail.recipient}"  # base64 never contains "=_"
    headers = [
        ("From", _address(*email.utils.parseaddr(sender))),
        ("To", _address(mail.to_name, mail.to)),
        ("Subject", _header(mail.subject)),
        ("Date", email.utils.formatdate(localtime=False, usegmt=True)),
        ("Message-ID", mail.message_id),
        ("X-ATS-Event-Id", mail.event_id),
        ("X-ATS-Template", mail.template),
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
    ]
    head = "".join(f"{name}: {value}\r\n" for name, value in headers).encode()
    separator = f"--{boundary}\r\n".encode()
    return (
        head
        + b"\r\n"
        + separator
        + _part("text/plain", mail.text)
        + b"\r\n"
        + separator
        + _part("text/html", mail.html)
        + f"\r\n--{boundary}--\r\n".encode()
    )


class FileSender:
    """One .eml file per (event, recipient) under <state_dir>/mail/, and one log line each."""

    def __init__(self, settings: Settings):
        self.directory = os.path.join(settings.state_dir, "mail")
        self.sender = settings.email_from

    def send(self, mail: Email) -> None:
        os.makedirs(self.directory, exist_ok=True)
        # Event ids are ULIDs, so the files sort by time; a repeat would overwrite, not add.
        path = os.path.join(self.directory, f"{mail.event_id}.{mail.recipient}.eml")
        temporary = f"{path}.tmp"
        with open(temporary, "wb") as f:
            f.write(build_message(mail, self.sender))
        os.replace(temporary, path)
        log.info("email to %s: %r -> %s", mail.to, mail.subject, path)


class ConsoleSender:
    def __init__(self, settings: Settings):
        self.sender = settings.email_from

    def send(self, mail: Email) -> None:
        sys.stdout.write(f"{build_message(mail, self.sender).decode()}\n{'-' * 72}\n")
        sys.stdout.flush()


class SmtpSender:
    """SMTP with STARTTLS, implicit TLS or neither; one connection kept and reused per thread."""

    PORTS: ClassVar[dict[str, int]] = {"tls": 465, "starttls": 587, "none": 25}

    def __init__(self, settings: Settings, secrets: SecretStore):
        if settings.smtp_tls not in self.PORTS:
            raise ConfigurationError(f"ATS_SMTP_TLS must be one of {', '.join(self.PORTS)}, not {settings.smtp_tls!r}.")
        self.settings = settings
        self.secrets = secrets
        self.port = settings.smtp_port or self.PORTS[settings.smtp_tls]
        self._local = threading.local()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        # The password is read (perhaps from SSM) before any connection is open.
        credentials = (s.smtp_user, self._password()) if s.smtp_user else None
        conn: smtplib.SMTP
        if s.smtp_tls == "tls":
            conn = smtplib.SMTP_SSL(
                s.smtp_host, self.port, timeout=s.smtp_timeout, context=ssl.create_default_context()
            )
        else:
            conn = smtplib.SMTP(s.smtp_host, self.port, timeout=s.smtp_timeout)
            if s.smtp_tls == "starttls":
                conn.starttls(context=ssl.create_default_context())
        try:
            if credentials:
                conn.login(*credentials)
        except BaseException as error:
            conn.close()
            if isinstance(error, smtplib.SMTPAuthenticationError) and s.smtp_password_parameter:
                self.secrets.forget(s.smtp_password_parameter)  # rotated, perhaps: the retry reads it again
            raise
        return conn

    def _password(self) -> str:
        """ATS_SMTP_PASSWORD, else the SSM parameter a deployment names (read once, again if refused)."""
        s = self.settings
        if s.smtp_password_value:
            return s.smtp_password_value
        if s.smtp_password_parameter:
            return self.secrets.parameter(s.smtp_password_parameter, s.aws_region)
        return ""

    def send(self, mail: Email) -> None:
        message = build_message(mail, self.settings.email_from)
        envelope_from = email.utils.parseaddr(self.settings.email_from)[1]
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            try:
                conn.sendmail(envelope_from, [mail.to], message)
                return
            except smtplib.SMTPServerDisconnected:
                self.close()  # the server dropped the idle connection: open a fresh one
            except BaseException as error:
                self.close()
                raise _classified(error) from error
        conn = self._local.conn = self._connect_classified()
        try:
            conn.sendmail(envelope_from, [mail.to], message)
        except BaseException as error:
            self.close()
            raise _classified(error) from error

    def _connect_classified(self) -> smtplib.SMTP:
        try:
            return self._connect()
        except BaseException as error:
            raise _classified(error) from error

    def close(self) -> None:
        conn, self._local.conn = getattr(self._local, "conn", None), None
        if conn is not None:
            try:
                conn.quit()
            except Exception:
                conn.close()


def _classified(error: BaseException) -> BaseException:
    """A 5xx answer is final (except for auth, often a passing server problem); the rest is retried."""
    codes = []
    if isinstance(error, smtplib.SMTPResponseException):
        codes = [error.smtp_code]
    elif isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
    if codes and all(500 <= code < 600 for code in codes) and not isinstance(error, smtplib.SMTPAuthenticationError):
        return PermanentSendError(f"{type(error).__name__}: {error}")
    return error


class SesSender:
    """Amazon SES through its v2 API (boto3, imported on first use)."""

    def __init__(self, settings: Settings):
        import boto3
        from botocore.config import Config

        self.sender = settings.email_from
        # One attempt, each wait bounded by the SMTP timeout: a relay pass starts a send only with
        # that timeout and a second left (delivery.out_of_time), and botocore's defaults (60 s
        # reads, retried) would overrun it. A failed send is retried by the outbox, with backoff.
        bound = Config(
            connect_timeout=settings.smtp_timeout,
            read_timeout=settings.smtp_timeout,
            retries={"total_max_attempts": 1},
        )
        self.client = boto3.client("sesv2", region_name=settings.aws_region, config=bound)

    def send(self, mail: Email) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.send_email(
                FromEmailAddress=self.sender,
                Destination={"ToAddresses": [email.utils.formataddr((mail.to_name, mail.to))]},
                Content={
                    "Simple": {
                        "Subject": {"Data": mail.subject, "Charset": "UTF-8"},
                        "Body": {
                            "Text": {"Data": mail.text, "Charset": "UTF-8"},
                            "Html": {"Data": mail.html, "Charset": "UTF-8"},
                        },
                        "Headers": [{"Name": "X-ATS-Event-Id", "Value": mail.event_id}],
                    }
                },
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("MessageRejected", "MailFromDomainNotVerifiedException", "BadRequestException"):
                raise PermanentSendError(f"SES {code}: {error}") from error
            raise


SENDERS = {"file": FileSender, "console": ConsoleSender, "smtp": SmtpSender, "ses": SesSender}


def make_sender(settings: Settings, secrets: SecretStore):
    """The configured sender (the composition root keeps one per configuration, so connections are
    reused across emails)."""
    if settings.email_backend not in SENDERS:
        raise ConfigurationError(
            f"Unknown ATS_EMAIL_BACKEND {settings.email_backend!r}: use one of {', '.join(SENDERS)}."
        )
    if settings.email_backend == "smtp":
        return SmtpSender(settings, secrets)
    return SENDERS[settings.email_backend](settings)


def sender_key(settings: Settings) -> tuple:
    """What makes two configured senders the same."""
    return (
        settings.email_backend,
        settings.state_dir,
        settings.email_from,
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_tls,
        settings.smtp_user,
        settings.smtp_password_value,
        settings.smtp_password_parameter,
        settings.smtp_timeout,
        settings.aws_region,
    )
