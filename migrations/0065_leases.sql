-- Leases: a bounded number of concurrent activities per key, shared by
-- every `srarena serve` process ("at most 2 uploads in flight per user"
-- must hold however many web processes run behind the load balancer). A
-- lease expires unless its process renews it, so a process that dies
-- (killed, OOM, machine lost) frees its leases within one TTL instead of
-- blocking the user until someone cleans up.
CREATE TABLE leases (
    id         bigserial PRIMARY KEY,
    bucket     text NOT NULL,        -- what is bounded, e.g. 'upload_user'
    key        text NOT NULL,        -- whose, e.g. a user id
    holder     text NOT NULL,        -- the process holding it (host, pid), for operators
    expires_at timestamptz NOT NULL
);

CREATE INDEX leases_key_idx ON leases (bucket, key);
