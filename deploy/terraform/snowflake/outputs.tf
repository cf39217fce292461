output "warehouse" {
  value = snowflake_warehouse.millrace.name
}

output "database" {
  value = snowflake_database.markets.name
}

output "role" {
  value = snowflake_account_role.loader.name
}
