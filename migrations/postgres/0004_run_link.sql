-- vouch schema 4: the link to the run that produced a version (MLflow's run_link).
ALTER TABLE model_versions ADD COLUMN run_link TEXT NOT NULL DEFAULT '';
