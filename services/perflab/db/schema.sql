-- perflab schema: a small bookshop. Applied idempotently by `perflab.db.seed`.
-- orders.user_id deliberately has no index here: the db_index technique creates and
-- drops `orders_user_id_idx` at runtime.

CREATE TABLE IF NOT EXISTS authors (
    id          integer PRIMARY KEY,
    name        text        NOT NULL,
    country     text        NOT NULL,
    bio         text        NOT NULL
);

CREATE TABLE IF NOT EXISTS books (
    id              integer PRIMARY KEY,
    author_id       integer     NOT NULL REFERENCES authors (id),
    title           text        NOT NULL,
    isbn            text        NOT NULL UNIQUE,
    genre           text        NOT NULL,
    published_year  integer     NOT NULL,
    price_cents     integer     NOT NULL,
    -- Large on purpose: the select_columns technique shows what SELECT * drags along.
    description     text        NOT NULL
);
CREATE INDEX IF NOT EXISTS books_author_id_idx ON books (author_id);
CREATE INDEX IF NOT EXISTS books_genre_idx ON books (genre);

CREATE TABLE IF NOT EXISTS users (
    id          integer PRIMARY KEY,
    email       text        NOT NULL UNIQUE,
    name        text        NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS reviews (
    id          bigint PRIMARY KEY,
    book_id     integer     NOT NULL REFERENCES books (id),
    user_id     integer     NOT NULL REFERENCES users (id),
    rating      smallint    NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body        text        NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_book_id_idx ON reviews (book_id);
-- Ids of reviews written at runtime (POST /books/{book_id}/reviews); set by the seed.
CREATE SEQUENCE IF NOT EXISTS reviews_id_seq;
-- The ORM services (Django) insert without an id and read it back (RETURNING).
ALTER TABLE reviews ALTER COLUMN id SET DEFAULT nextval('reviews_id_seq');

CREATE TABLE IF NOT EXISTS orders (
    id           bigint PRIMARY KEY,
    user_id      integer     NOT NULL REFERENCES users (id),
    book_id      integer     NOT NULL REFERENCES books (id),
    quantity     integer     NOT NULL CHECK (quantity > 0),
    total_cents  integer     NOT NULL,
    status       text        NOT NULL,
    created_at   timestamptz NOT NULL
);

-- Rows written by the lab at runtime (bulk imports, confirmation e-mails).
CREATE SEQUENCE IF NOT EXISTS orders_id_seq;
ALTER TABLE orders ALTER COLUMN id SET DEFAULT nextval('orders_id_seq');
CREATE TABLE IF NOT EXISTS order_confirmations (
    id          bigserial PRIMARY KEY,
    order_id    bigint      NOT NULL REFERENCES orders (id),
    recipient   text        NOT NULL,
    sent_at     timestamptz NOT NULL DEFAULT now(),
    via         text        NOT NULL
);
-- The Celery task that stored the row (NULL inline): a redelivered task stores no
-- second row (delivery is at least once, the effect exactly once).
ALTER TABLE order_confirmations ADD COLUMN IF NOT EXISTS task_id text;
CREATE UNIQUE INDEX IF NOT EXISTS order_confirmations_task_id_key
    ON order_confirmations (task_id);

CREATE TABLE IF NOT EXISTS seed_info (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    scale       double precision NOT NULL,
    seeded_at   timestamptz NOT NULL DEFAULT now()
);
