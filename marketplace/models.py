"""Imports every feature's models so that the metadata (and Alembic) sees all tables."""

from marketplace.accounts.models import User  # noqa: F401
from marketplace.catalog.models import Certificate, Product, ProductImage  # noqa: F401
from marketplace.mail.models import OutgoingMail  # noqa: F401
from marketplace.producers.models import Producer, ProducerClaim, ProducerInvitation, ProducerPhoto  # noqa: F401
from marketplace.sales_points.models import SalesPoint  # noqa: F401
