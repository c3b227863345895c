-- vouch schema 2: where a version's artifacts are when its source is a models:/ URI (copies), and an
-- index for searching versions by run id.
ALTER TABLE model_versions ADD COLUMN storage_location TEXT NOT NULL DEFAULT '';
CREATE INDEX model_versions_run_id ON model_versions(run_id) WHERE deleted_ms IS NULL;
