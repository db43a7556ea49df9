# terraform plan -var-file=env/dev.tfvars   (state: terraform init -backend-config=env/backend-dev.hcl)
environment = "dev"
location    = "westeurope"
prefix      = "papyr"

# Your public address (curl -s https://ifconfig.me)/32: Key Vault, Storage and the AKS API accept it.
allowed_ip_ranges = ["203.0.113.10/32"]

storage_replication_type = "LRS"
log_retention_days       = 30

function_max_instances      = 40
function_instance_memory_mb = 2048
function_always_ready_http  = 0 # dev tolerates a cold start on the first webhook

aks_sku_tier           = "Free"
gpu_min_nodes          = 0
gpu_max_nodes          = 1
inference_min_replicas = 1
inference_max_replicas = 1

tags = {
  owner = "finance-it"
}
