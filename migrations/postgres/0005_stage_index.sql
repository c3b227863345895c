-- vouch schema 5: the stage index also orders by version, so the newest and oldest version in a
-- stage are index lookups rather than scans of the model's versions.
DROP INDEX model_versions_stage;
CREATE INDEX model_versions_stage ON model_versions(model_id, stage, version) WHERE deleted_ms IS NULL;
