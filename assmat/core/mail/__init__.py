"""Mail: rendered and queued with the business change (outbox), delivered by a worker."""

from assmat.core.mail.outbox import InvalidRecipient, MailTemplateError, enqueue, render, requeue
from assmat.core.mail.sender import DeliveryReport, FileBackend, SmtpBackend, deliver_due, make_backend
from assmat.core.mail.worker import MailWorker

__all__ = [
    "DeliveryReport",
    "FileBackend",
    "InvalidRecipient",
    "MailTemplateError",
    "MailWorker",
    "SmtpBackend",
    "deliver_due",
    "enqueue",
    "make_backend",
    "render",
    "requeue",
]
