-- The database and schema of the Snowflake sink, as the original snowflake-setup.sql made
-- `markets`. Run by ensureSchema() only when the sink is configured to create them
-- (SNOWFLAKE_CREATE_DATABASE=true): a loader role as deploy/terraform/snowflake grants it
-- may not create databases, and Terraform creates them there.
CREATE DATABASE IF NOT EXISTS ${database};
CREATE SCHEMA IF NOT EXISTS ${database}.${schema};
