-- vouch schema 19 (issue 10, the large registry): one model's versions of one run, by version
-- number (`name = 'm' AND run_id = 'r'`, in MLflow's default order for a model's versions). The
-- walk read them through the (model_id, version) index and looked up each row's run_id: a page of
-- 100 of the 1,000 r7 versions among big's 100,000 read 10,000 rows. Now it reads the page.
CREATE INDEX model_versions_model_run_version ON model_versions(model_id, run_id, version) WHERE deleted_ms IS NULL;
