-- Access (API.md "Access"): API tokens for programs, people who sign in,
-- and their server-side sessions. Secrets are never stored: a token or a
-- session id is kept as its SHA-256 (both are 32 random bytes, so a fast
-- hash is enough), a password as an argon2id hash. Times are microseconds
-- since the epoch, as everywhere in this schema.

-- One row per token; rotation is "create a new one, revoke the old one
-- later", so rows are independent and a revoked row stays for the record.
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('ingest', 'read', 'admin')),
    token_hash BLOB NOT NULL UNIQUE,
    display TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
-- A name picks one active token (`tracevis token revoke NAME`); a revoked
-- token's name can be given to a new one.
CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (name) WHERE revoked_at IS NULL;

CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'admin')),
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Ended by signing out, by removing the user or by a password change
-- (both delete the user's rows), or when expires_at passes.
CREATE TABLE sessions (
    id_hash BLOB PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_name);
