-- An account's history, found by its name: whether a name was ever
-- deleted (the web gives a deleted account's name to admins only), and
-- which accounts a person made on the web (what counts toward their
-- --max-accounts). Both are asked on every account created on the web.
-- PostgreSQL's twin of schema/006_audit_by_user.sql (README.md here).
CREATE INDEX audit_events_by_user ON audit_events ("user", action);
