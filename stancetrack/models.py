"""The SQL schema: typed SQLAlchemy models. The tables and views are a public contract (README)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Run(Base):
    """One invocation that changed the database (ingest, analyze, run)."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    command: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="running")  # running / ok / failed
    model_name: Mapped[str | None] = mapped_column(String(300))
    model_hash: Mapped[str | None] = mapped_column(String(64))
    watchlist_hash: Mapped[str | None] = mapped_column(String(64))
    counts: Mapped[str] = mapped_column(Text, default="{}")  # JSON object of counters
    error: Mapped[str | None] = mapped_column(Text)
    # Who runs it: a later run tells a live run from a killed one by these (runs.py).
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str | None] = mapped_column(String(2000), index=True)
    title: Mapped[str | None] = mapped_column(String(1000))
    source: Mapped[str | None] = mapped_column(String(300))
    published_at: Mapped[date] = mapped_column(Date, index=True)  # publication date in UTC
    # The timestamp as the source gave it, ISO 8601 with its UTC offset; NULL for a bare date.
    published_time: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(8), default="en")
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    origin: Mapped[str | None] = mapped_column(String(2000))  # file (and line) or URL it came from
    # What turned the input into text: "front-matter", "json", "feed", "trafilatura 2.3.1".
    extractor: Mapped[str | None] = mapped_column(String(100))
    # A feed entry's summary stored because its page was not fetched: short, read with care.
    summary_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    ingested_at: Mapped[datetime] = mapped_column(DateTime)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    # Wire copies: points at the earliest article of the same near-duplicate cluster.
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("articles.id"), index=True)
    minhash: Mapped[bytes | None] = mapped_column()


class ArticleBand(Base):
    """One locality-sensitive-hashing band of an article's MinHash: wire copies share a band.

    Looking candidates up by band hash (an indexed query) instead of comparing with every
    article in the date window keeps ingest speed flat as the database grows.
    """

    __tablename__ = "article_bands"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    band: Mapped[int] = mapped_column(Integer, primary_key=True)
    band_hash: Mapped[int] = mapped_column(BigInteger, index=True)


class RejectedInput(Base):
    """An input record that could not be ingested, kept for the data-quality report."""

    __tablename__ = "rejected_inputs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), index=True)
    location: Mapped[str] = mapped_column(String(2000))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class FetchedUrl(Base):
    """A URL requested over HTTP: the seen-set that keeps re-runs from fetching it again.

    Pages are fetched once (again only after a failure that may pass: a timeout, a 5xx, a
    robots.txt refusal); feeds are polled every run with their ETag / Last-Modified, so an
    unchanged feed costs one 304.
    """

    __tablename__ = "fetched_urls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)  # as requested
    final_url: Mapped[str | None] = mapped_column(String(2000))  # after redirects
    kind: Mapped[str] = mapped_column(String(8))  # page / feed
    status: Mapped[int | None] = mapped_column(Integer)  # last HTTP status; NULL: no response
    etag: Mapped[str | None] = mapped_column(String(300))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    fetched_at: Mapped[datetime] = mapped_column(DateTime)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    error: Mapped[str | None] = mapped_column(Text)  # why it gave no article, if it did not
    retry: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))


class Actor(Base):
    __tablename__ = "actors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    # Hash of everything that decides which sentences mention this actor.
    fingerprint: Mapped[str] = mapped_column(String(64))
    aliases: Mapped[list[ActorAlias]] = relationship(
        back_populates="actor", cascade="all, delete-orphan"
    )


class ActorAlias(Base):
    __tablename__ = "actor_aliases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    alias: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))  # alias / demonym / spokesperson
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    actor: Mapped[Actor] = relationship(back_populates="aliases")


class Policy(Base):
    __tablename__ = "policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    proposition: Mapped[str] = mapped_column(Text)
    keywords: Mapped[str] = mapped_column(Text)  # JSON list
    fingerprint: Mapped[str] = mapped_column(String(64))


class Track(Base):
    __tablename__ = "tracks"
    __table_args__ = (UniqueConstraint("actor_id", "policy_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id", ondelete="CASCADE"))
    active: Mapped[bool] = mapped_column(default=True)
    # Shift-detection thresholds; NULL means the global default.
    min_evidence: Mapped[int | None] = mapped_column(Integer)
    min_score_change: Mapped[float | None] = mapped_column(Float)
    actor: Mapped[Actor] = relationship()
    policy: Mapped[Policy] = relationship()


class Analysis(Base):
    """Marks an article as analysed for a track under one watchlist fingerprint and model."""

    __tablename__ = "analyses"
    __table_args__ = (UniqueConstraint("article_id", "track_id", "model_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), index=True)
    track_fingerprint: Mapped[str] = mapped_column(String(64))
    model_hash: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    # "claimed" while a run works on it, "done" once its evidence and stance are stored: runs
    # that overlap share pending work instead of doing it twice (pipeline.claim_work).
    status: Mapped[str] = mapped_column(String(16), default="done", server_default="done")


class Evidence(Base):
    """A sentence where a tracked actor meets a tracked policy, with the model's probabilities."""

    __tablename__ = "evidence"
    __table_args__ = (Index("ix_evidence_article_track", "article_id", "actor_id", "policy_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id", ondelete="CASCADE"))
    sentence: Mapped[str] = mapped_column(Text)
    char_start: Mapped[int] = mapped_column(Integer)
    char_end: Mapped[int] = mapped_column(Integer)
    context_before: Mapped[str] = mapped_column(Text, default="")
    context_after: Mapped[str] = mapped_column(Text, default="")
    matched_alias: Mapped[str] = mapped_column(String(300))
    # 0 = the headline (offsets then point into articles.title), 1 = first paragraph, ...
    paragraph: Mapped[int | None] = mapped_column(Integer)
    actor_match: Mapped[str | None] = mapped_column(String(16))  # alias/demonym/.../pronoun
    policy_match: Mapped[str | None] = mapped_column(String(16))  # keyword / anaphor
    p_support: Mapped[float] = mapped_column(Float)
    p_oppose: Mapped[float] = mapped_column(Float)
    p_neutral: Mapped[float] = mapped_column(Float)  # includes p_no_stance
    # Part of p_neutral: no position of the actor is reported (NULL if the model cannot tell).
    p_no_stance: Mapped[float | None] = mapped_column(Float)
    model_name: Mapped[str] = mapped_column(String(300))
    model_hash: Mapped[str] = mapped_column(String(64), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))


class Stance(Base):
    """One stance per article x actor x policy x model."""

    __tablename__ = "stances"
    __table_args__ = (UniqueConstraint("article_id", "actor_id", "policy_id", "model_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)  # P(support) - P(oppose), in [-1, 1]
    confidence: Mapped[float] = mapped_column(Float)
    evidence_count: Mapped[int] = mapped_column(Integer)
    # How sure we are the article reports no position of the actor; such articles are shown
    # but do not count in shift detection. NULL if the model cannot tell.
    no_stance: Mapped[float | None] = mapped_column(Float)
    key_evidence_id: Mapped[int | None] = mapped_column(
        ForeignKey("evidence.id", ondelete="SET NULL")
    )
    model_name: Mapped[str] = mapped_column(String(300))
    model_hash: Mapped[str] = mapped_column(String(64), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))


class Delivery(Base):
    """A change report that `run` wrote out: what later runs report as new is counted from here,
    so an alert whose report could not be written is reported again by the next run."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    target: Mapped[str] = mapped_column(String(2000))  # file path, or "stdout"
    format: Mapped[str] = mapped_column(String(16))
    delivered_at: Mapped[datetime] = mapped_column(DateTime)


class Shift(Base):
    """A persistent change of an actor's stance on a policy, as first and last seen by runs."""

    __tablename__ = "shifts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id", ondelete="CASCADE"))
    model_hash: Mapped[str] = mapped_column(String(64), index=True)
    from_label: Mapped[str] = mapped_column(String(16))
    from_score: Mapped[float] = mapped_column(Float)
    to_label: Mapped[str] = mapped_column(String(16))
    to_score: Mapped[float] = mapped_column(Float)
    shift_date: Mapped[date] = mapped_column(Date)
    window_start: Mapped[date] = mapped_column(Date)
    window_end: Mapped[date] = mapped_column(Date)
    strength: Mapped[float] = mapped_column(Float)
    articles_before: Mapped[int] = mapped_column(Integer)
    articles_after: Mapped[int] = mapped_column(Integer)
    sources_before: Mapped[int] = mapped_column(Integer)
    sources_after: Mapped[int] = mapped_column(Integer)
    evidence_before_id: Mapped[int | None] = mapped_column(
        ForeignKey("evidence.id", ondelete="SET NULL")
    )
    evidence_after_id: Mapped[int | None] = mapped_column(
        ForeignKey("evidence.id", ondelete="SET NULL")
    )
    # new / confirmed / retracted; possible / contradicted / expired / withdrawn for possible shifts
    status: Mapped[str] = mapped_column(String(16))
    # "possible" when first reported as a possible shift (it keeps that origin once confirmed)
    origin: Mapped[str | None] = mapped_column(String(16))
    first_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    previous_shift_date: Mapped[date | None] = mapped_column(Date)  # set when a run moved it
    changed_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))  # last change
