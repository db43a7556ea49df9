# terraform plan -var-file=env/prod.tfvars   (state: terraform init -backend-config=env/backend-prod.hcl)
environment = "prod"
location    = "westeurope"
prefix      = "papyr"

# The CI runners' and operators' egress addresses.
allowed_ip_ranges = ["203.0.113.0/28"]

vnet_address_space       = "10.41.0.0/16"
storage_replication_type = "ZRS"
log_retention_days       = 90

function_max_instances      = 200
function_instance_memory_mb = 4096
function_always_ready_http  = 2
function_http_concurrency   = 16

intake_max_delivery_count = 10

aks_sku_tier           = "Standard"
aks_system_vm_size     = "Standard_D4s_v5"
gpu_vm_size            = "Standard_NC4as_T4_v3"
gpu_min_nodes          = 0
gpu_max_nodes          = 4
inference_min_replicas = 1
inference_max_replicas = 4

tags = {
  owner       = "finance-it"
  cost-center = "ap-automation"
}
