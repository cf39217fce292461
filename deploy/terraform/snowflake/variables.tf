variable "warehouse_name" {
  type    = string
  default = "MILLRACE_WH"
}

variable "warehouse_size" {
  type    = string
  default = "XSMALL"
}

variable "database_name" {
  type    = string
  default = "MARKETS"
}

variable "schema_name" {
  type    = string
  default = "PUBLIC"
}

variable "role_name" {
  type    = string
  default = "MILLRACE_LOADER"
}

variable "loader_user" {
  type        = string
  default     = ""
  description = "Existing Snowflake user the sink logs in as; granted the loader role."
}
