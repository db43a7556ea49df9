variable "subscription_id" {
  description = "Azure subscription to deploy into; null uses ARM_SUBSCRIPTION_ID or the Azure CLI's current one."
  type        = string
  default     = null
}

variable "location" {
  description = "Azure region for every resource. It must offer Flex Consumption and the GPU VM size (Standard_NC4as_T4_v3)."
  type        = string
  default     = "westeurope"
}

variable "prefix" {
  description = "Short lowercase name stem for resources (2-10 letters/digits, starting with a letter)."
  type        = string
  default     = "papyr"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,9}$", var.prefix))
    error_message = "prefix must be 2-10 lowercase letters or digits and start with a letter (storage and registry names allow nothing else)."
  }
}

variable "environment" {
  description = "Environment name, used in resource names and tags (dev, test, prod...)."
  type        = string
  default     = "dev"
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

variable "allowed_ip_ranges" {
  description = "Public CIDR ranges (the deployer, CI) allowed to reach Key Vault, Storage and the AKS API server. Everything else reaches them through the VNet."
  type        = list(string)

  # Required: an empty list would leave the AKS API server open to every address.
  validation {
    condition     = length(var.allowed_ip_ranges) > 0 && alltrue([for cidr in var.allowed_ip_ranges : can(cidrhost(cidr, 0))])
    error_message = "allowed_ip_ranges needs at least one CIDR, e.g. your public address as [\"203.0.113.10/32\"]."
  }
}

# -- Network --------------------------------------------------------------------------------------

variable "vnet_address_space" {
  description = "VNet address space (a /16); subnets are carved from it (network.tf)."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.vnet_address_space, 0)) && endswith(var.vnet_address_space, "/16")
    error_message = "vnet_address_space must be a /16 CIDR such as 10.40.0.0/16."
  }
}

# -- Storage ----------------------------------------------------------------------------------------

variable "storage_replication_type" {
  description = "Replication of the storage account holding the documents (LRS, ZRS, GRS, GZRS)."
  type        = string
  default     = "LRS"

  validation {
    condition     = contains(["LRS", "ZRS", "GRS", "GZRS", "RAGRS", "RAGZRS"], var.storage_replication_type)
    error_message = "storage_replication_type must be one of LRS, ZRS, GRS, GZRS, RAGRS, RAGZRS."
  }
}

variable "log_retention_days" {
  description = "Log Analytics retention in days."
  type        = number
  default     = 30
}

# -- Function App (Flex Consumption) --------------------------------------------------------------

variable "function_max_instances" {
  description = "Upper bound on Flex Consumption instances (40-1000); docs/scale.md explains the figure."
  type        = number
  default     = 100

  validation {
    condition     = var.function_max_instances >= 40 && var.function_max_instances <= 1000
    error_message = "function_max_instances must be between 40 and 1000 (Flex Consumption limits)."
  }
}

variable "function_instance_memory_mb" {
  description = "Memory per Flex Consumption instance: 512, 2048 or 4096 MB (PDF parsing and CPU OCR fallback want 2048+)."
  type        = number
  default     = 2048

  validation {
    condition     = contains([512, 2048, 4096], var.function_instance_memory_mb)
    error_message = "function_instance_memory_mb must be 512, 2048 or 4096."
  }
}

variable "function_http_concurrency" {
  description = "Concurrent HTTP requests per instance before Flex adds one (webhooks are short)."
  type        = number
  default     = 16
}

variable "function_always_ready_http" {
  description = "Always-ready instances for the HTTP group: no cold start for webhooks that must answer in < 3 s."
  type        = number
  default     = 1
}

# -- Service Bus ----------------------------------------------------------------------------------

variable "intake_queue_sessions" {
  description = "Sessions on the intake queue (SessionId = mailbox). Off by default: the drain reads the queue over the Service Bus REST API, which cannot receive from session queues; two workers reconciling one mailbox at once is safe (message and document dedupe), only not exclusive."
  type        = bool
  default     = false
}

variable "intake_max_delivery_count" {
  description = "Deliveries of one notification before the broker dead-letters it."
  type        = number
  default     = 10
}

# -- Cosmos DB ------------------------------------------------------------------------------------

variable "cosmos_database_name" {
  description = "Cosmos DB SQL database holding Papyr's records."
  type        = string
  default     = "papyr"
}

# -- AKS ------------------------------------------------------------------------------------------

variable "kubernetes_version" {
  description = "AKS Kubernetes version (minor alias such as 1.31); null takes the region's default. gpu-inference/k8s is validated against 1.31."
  type        = string
  default     = null
}

variable "aks_sku_tier" {
  description = "AKS control plane tier: Free (dev, no SLA) or Standard (uptime SLA)."
  type        = string
  default     = "Free"

  validation {
    condition     = contains(["Free", "Standard", "Premium"], var.aks_sku_tier)
    error_message = "aks_sku_tier must be Free, Standard or Premium."
  }
}

variable "aks_system_vm_size" {
  description = "VM size of the AKS system node pool."
  type        = string
  default     = "Standard_D4s_v5"
}

variable "gpu_vm_size" {
  description = "VM size of the GPU node pool running gpu-inference."
  type        = string
  default     = "Standard_NC4as_T4_v3"
}

variable "gpu_node_label" {
  description = "Value of the papyr.io/accelerator label on GPU nodes (the inference pods select it)."
  type        = string
  default     = "nvidia-t4"
}

variable "gpu_min_nodes" {
  description = "Minimum GPU nodes (0 lets the autoscaler remove every GPU node when no inference pod runs)."
  type        = number
  default     = 0
}

variable "gpu_max_nodes" {
  description = "Maximum GPU nodes."
  type        = number
  default     = 3
}

variable "inference_min_replicas" {
  description = "Minimum gpu-inference pods (the HorizontalPodAutoscaler's floor)."
  type        = number
  default     = 1
}

variable "inference_max_replicas" {
  description = "Maximum gpu-inference pods; at one GPU each, keep it <= gpu_max_nodes."
  type        = number
  default     = 3
}

# -- Secrets (set here or later with `az keyvault secret set`; Terraform ignores later changes) ----

variable "anthropic_api_key" {
  description = "Anthropic API key for LLM extraction; leave the placeholder to set it in Key Vault by hand."
  type        = string
  default     = "set-me"
  sensitive   = true
}

variable "approval_flow_url" {
  description = "URL of the Power Automate approval flow's HTTP trigger (it carries a SAS signature); leave the placeholder to set it in Key Vault by hand."
  type        = string
  default     = "set-me"
  sensitive   = true
}

variable "teams_webhook_url" {
  description = "Teams incoming webhook / Workflows URL for approval cards when no flow is used; leave the placeholder to set it in Key Vault by hand."
  type        = string
  default     = "set-me"
  sensitive   = true
}

variable "graph_client_secret" {
  description = "Client secret of the Entra ID app that reads mailboxes through Microsoft Graph."
  type        = string
  default     = "set-me"
  sensitive   = true
}

variable "approvals_entra_audience" {
  description = "Audience (Application ID URI) of the Entra ID app registration whose bearer tokens the approval callback accepts; empty = bearer tokens are refused."
  type        = string
  default     = ""
}

variable "dashboard_entra_client_id" {
  description = "Client ID of the Entra ID app registration that signs people in to the dashboard through App Service authentication (Easy Auth). Its app roles clerk / approver / admin (values 'clerk', 'approver', 'admin' or 'Papyr.*') become Papyr roles. Empty = no Easy Auth: Papyr's own users sign in instead."
  type        = string
  default     = ""
}

variable "dashboard_entra_client_secret" {
  description = "Client secret of that app registration (stored in Key Vault as dashboard-entra-client-secret; operators may set it there instead)."
  type        = string
  default     = ""
  sensitive   = true
}
