-- vouch schema 10 (issue 10): searches walk an index in their order and stop at their page.
-- Versions newest update first (MLflow's default order), of every model, of one model, and of one
-- model's run (`name = 'm' AND run_id = 'r'`); the id breaks ties so a walk can resume exactly:
CREATE INDEX model_versions_updated ON model_versions(updated_ms, id) WHERE deleted_ms IS NULL;
CREATE INDEX model_versions_model_updated ON model_versions(model_id, updated_ms, id) WHERE deleted_ms IS NULL;
CREATE INDEX model_versions_model_run ON model_versions(model_id, run_id, updated_ms, id) WHERE deleted_ms IS NULL;
-- The rows carrying a tag value (`tags.k = 'v'`, and the prompt marker every search leaves out),
-- without reading every tag of every row:
CREATE INDEX model_tags_key_value ON model_tags(key, value);
CREATE INDEX version_tags_key_value ON version_tags(key, value);
