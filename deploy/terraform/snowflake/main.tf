# Snowflake objects for millrace: warehouse, database `MARKETS`, schema, the loader role
# and its grants, and the tables the sink writes (the original pipeline's `trades`,
# extended, plus `vwap_1m` and `millrace_offsets`). The original project listed
# "infrastructure as code" as its first improvement; this is it.
#
#   export SNOWFLAKE_ORGANIZATION_NAME=... SNOWFLAKE_ACCOUNT_NAME=... SNOWFLAKE_USER=... SNOWFLAKE_PASSWORD=...
#   terraform init && terraform apply -var loader_user=MILLRACE_LOADER_USER

terraform {
  required_version = ">= 1.5"
  required_providers {
    snowflake = {
      source  = "snowflakedb/snowflake"
      version = ">= 1.0"
    }
  }
}

provider "snowflake" {
  # Credentials come from the environment (SNOWFLAKE_*), never from this file.
}

resource "snowflake_warehouse" "millrace" {
  name           = var.warehouse_name
  warehouse_size = var.warehouse_size
  auto_suspend   = 60
  auto_resume    = true
  comment        = "millrace sink loads"
}

resource "snowflake_database" "markets" {
  name    = var.database_name
  comment = "Market data loaded by millrace"
}

resource "snowflake_schema" "public" {
  database = snowflake_database.markets.name
  name     = var.schema_name
}

resource "snowflake_account_role" "loader" {
  name    = var.role_name
  comment = "Writes millrace rows and offsets"
}

resource "snowflake_grant_privileges_to_account_role" "warehouse_usage" {
  account_role_name = snowflake_account_role.loader.name
  privileges        = ["USAGE", "OPERATE"]
  on_account_object {
    object_type = "WAREHOUSE"
    object_name = snowflake_warehouse.millrace.name
  }
}

resource "snowflake_grant_privileges_to_account_role" "database_usage" {
  account_role_name = snowflake_account_role.loader.name
  privileges        = ["USAGE"]
  on_account_object {
    object_type = "DATABASE"
    object_name = snowflake_database.markets.name
  }
}

resource "snowflake_grant_privileges_to_account_role" "schema_rights" {
  account_role_name = snowflake_account_role.loader.name
  privileges        = ["USAGE", "CREATE TABLE"]
  on_schema {
    schema_name = "\"${snowflake_database.markets.name}\".\"${snowflake_schema.public.name}\""
  }
}

resource "snowflake_grant_privileges_to_account_role" "table_rights" {
  account_role_name = snowflake_account_role.loader.name
  privileges        = ["SELECT", "INSERT", "UPDATE", "DELETE"]
  on_schema_object {
    future {
      object_type_plural = "TABLES"
      in_schema          = "\"${snowflake_database.markets.name}\".\"${snowflake_schema.public.name}\""
    }
  }
}

resource "snowflake_grant_account_role" "loader_user" {
  count     = var.loader_user == "" ? 0 : 1
  role_name = snowflake_account_role.loader.name
  user_name = var.loader_user
}

# The tables. Their DDL is the same file the sink runs on start (schemas/snowflake.sql),
# so Terraform and the sink never disagree about columns.
resource "snowflake_execute" "tables" {
  execute = templatefile("${path.module}/tables.sql.tftpl", {
    database = snowflake_database.markets.name
    schema   = snowflake_schema.public.name
  })
  revert     = "SELECT 1"
  depends_on = [snowflake_grant_privileges_to_account_role.schema_rights]
}
