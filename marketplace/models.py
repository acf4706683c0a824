"""Imports every feature's models so that the metadata (and Alembic) sees all tables."""

from marketplace.accounts.models import User  # noqa: F401
from marketplace.banking.models import BankAccountChange, ProducerBankAccount  # noqa: F401
from marketplace.catalog.models import Certificate, Product, ProductImage  # noqa: F401
from marketplace.dashboard.models import AuditLog, CertificateReminder, DashboardTarget, ListingReport  # noqa: F401
from marketplace.forums.models import (  # noqa: F401
    Forum,
    ForumSession,
    ForumSlot,
    Meeting,
    MeetingOutcome,
    MeetingSeat,
    Registration,
)
from marketplace.inquiries.models import (  # noqa: F401
    Attachment,
    BuyerProfile,
    Inquiry,
    Message,
    Notification,
    NotificationSetting,
    Quote,
    Report,
    Rfq,
    RfqInvitation,
    Thread,
    ThreadRead,
)
from marketplace.mail.models import OutgoingMail  # noqa: F401
from marketplace.payments.models import (  # noqa: F401
    Order,
    OrderEvent,
    OrderRefund,
    OrderTerms,
    PaymentAttempt,
    StripeEvent,
)
from marketplace.producers.models import Producer, ProducerClaim, ProducerInvitation, ProducerPhoto  # noqa: F401
from marketplace.sales_points.models import (  # noqa: F401
    CarryRequest,
    SalesPoint,
    SalesPointPhoto,
    SalesPointProduct,
    SalesPointReview,
)
from marketplace.search.models import SearchDocument, SearchOutbox, SearchWord  # noqa: F401
from marketplace.traceability.models import (  # noqa: F401
    Batch,
    BatchDestination,
    BatchInput,
    BatchRevision,
    BatchScanCounter,
    Inspection,
    ProcessingStep,
)
