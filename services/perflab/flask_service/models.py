"""SQLAlchemy 2.0 ORM mappings of the lab's existing tables (db/schema.sql).

No second schema: the tables are created and seeded by `perflab.db.seed`; these
classes only map them. Relationships load lazily with `select` (SQLAlchemy's default),
which is what the naive paths rely on and what the optimised paths override per query
(`joinedload`, `selectinload`, `load_only`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Sequence, SmallInteger, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "authors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    country: Mapped[str] = mapped_column(Text)
    bio: Mapped[str] = mapped_column(Text)

    books: Mapped[list[Book]] = relationship(back_populates="author", lazy="select")


class Book(Base):
    __tablename__ = "books"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"))
    title: Mapped[str] = mapped_column(Text)
    isbn: Mapped[str] = mapped_column(Text)
    genre: Mapped[str] = mapped_column(Text)
    published_year: Mapped[int]
    price_cents: Mapped[int]
    description: Mapped[str] = mapped_column(Text)

    author: Mapped[Author] = relationship(back_populates="books", lazy="select")
    reviews: Mapped[list[Review]] = relationship(back_populates="book", lazy="select")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Review(Base):
    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(BigInteger, Sequence("reviews_id_seq"), primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    rating: Mapped[int] = mapped_column(SmallInteger)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    book: Mapped[Book] = relationship(back_populates="reviews", lazy="select")


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(BigInteger, Sequence("orders_id_seq"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id"))
    quantity: Mapped[int]
    total_cents: Mapped[int]
    status: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OrderConfirmation(Base):
    __tablename__ = "order_confirmations"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # bigserial
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    recipient: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    via: Mapped[str] = mapped_column(Text)
    task_id: Mapped[str | None] = mapped_column(Text, unique=True)  # the Celery task's
