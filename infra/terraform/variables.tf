variable "subscription_id" {
  description = "Azure subscription to deploy into; null uses ARM_SUBSCRIPTION_ID or the Azure CLI's current one."
  type        = string
  default     = null
}

variable "location" {
  description = "Azure region for every resource. It must offer Standard_NC4as_T4_v3 (T4 GPUs) for the AKS GPU pool."
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
  description = "Environment name, used in the resource group name and tags (dev, test, prod...)."
  type        = string
  default     = "dev"
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

# -- Function App ---------------------------------------------------------------------------------

variable "function_plan_sku" {
  description = "Elastic Premium plan SKU for the Function App (EP1, EP2 or EP3)."
  type        = string
  default     = "EP1"

  validation {
    condition     = contains(["EP1", "EP2", "EP3"], var.function_plan_sku)
    error_message = "function_plan_sku must be EP1, EP2 or EP3."
  }
}

variable "function_max_instances" {
  description = "Upper bound on Elastic Premium instances (scale-out limit)."
  type        = number
  default     = 20
}

variable "function_min_instances" {
  description = "Always-ready instances (no cold start for webhooks that must answer in < 3 s)."
  type        = number
  default     = 1
}

variable "inference_url" {
  description = "Base URL of the gpu-inference service inside the VNet (the AKS internal load balancer), e.g. http://10.40.0.250. Empty until the Kubernetes deployment is applied; the functions then fall back to CPU inference."
  type        = string
  default     = ""
}

# -- Cosmos DB ------------------------------------------------------------------------------------

variable "cosmos_database_name" {
  description = "Cosmos DB SQL database holding Papyr's records."
  type        = string
  default     = "papyr"
}

# -- AKS ------------------------------------------------------------------------------------------

variable "kubernetes_version" {
  description = "AKS Kubernetes version (minor alias such as 1.31); null takes the region's default."
  type        = string
  default     = null
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

variable "gpu_min_nodes" {
  description = "Minimum GPU nodes (0 lets the autoscaler remove every GPU node when idle)."
  type        = number
  default     = 0
}

variable "gpu_max_nodes" {
  description = "Maximum GPU nodes."
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

variable "graph_client_secret" {
  description = "Client secret of the Entra ID app that reads mailboxes through Microsoft Graph."
  type        = string
  default     = "set-me"
  sensitive   = true
}
