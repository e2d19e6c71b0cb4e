"""The bookshop's tables (db/schema.sql) as Django models: mapped, never managed.

`managed = False`: the schema belongs to `perflab.db.seed`; Django neither creates nor
migrates it. Ids written at runtime come from the schema's sequences, the columns'
DEFAULT (schema.sql): to Django they are auto fields, left out of the INSERT and read
back in the same statement (RETURNING), as the API's SQL does.
"""

from __future__ import annotations

from django.db import models


class Author(models.Model):
    id = models.IntegerField(primary_key=True)
    name = models.TextField()
    country = models.TextField()
    bio = models.TextField()

    class Meta:
        managed = False
        db_table = "authors"


class Book(models.Model):
    id = models.IntegerField(primary_key=True)
    author = models.ForeignKey(Author, models.DO_NOTHING, related_name="books")
    title = models.TextField()
    isbn = models.TextField(unique=True)
    genre = models.TextField()
    published_year = models.IntegerField()
    price_cents = models.IntegerField()
    description = models.TextField()

    class Meta:
        managed = False
        db_table = "books"


class Customer(models.Model):
    """The `users` table (a shop's customers; not Django's auth users)."""

    id = models.IntegerField(primary_key=True)
    email = models.TextField(unique=True)
    name = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "users"


class Review(models.Model):
    id = models.BigAutoField(primary_key=True)  # DEFAULT nextval('reviews_id_seq')
    book = models.ForeignKey(Book, models.DO_NOTHING, related_name="reviews")
    user = models.ForeignKey(Customer, models.DO_NOTHING, related_name="reviews")
    rating = models.SmallIntegerField()
    body = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "reviews"


class Order(models.Model):
    id = models.BigAutoField(primary_key=True)  # DEFAULT nextval('orders_id_seq')
    user = models.ForeignKey(Customer, models.DO_NOTHING, related_name="orders")
    book = models.ForeignKey(Book, models.DO_NOTHING, related_name="orders")
    quantity = models.IntegerField()
    total_cents = models.IntegerField()
    status = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "orders"


class OrderConfirmation(models.Model):
    id = models.BigAutoField(primary_key=True)
    order = models.ForeignKey(Order, models.DO_NOTHING, related_name="confirmations")
    recipient = models.TextField()
    sent_at = models.DateTimeField(db_default=models.functions.Now())
    via = models.TextField()
    task_id = models.TextField(null=True, unique=True)  # the Celery task's; NULL inline

    class Meta:
        managed = False
        db_table = "order_confirmations"
