# Remote state for dev: terraform init -backend-config=env/backend-dev.hcl
# The account and container are created once by the bootstrap commands in the repository README
# ("Deploying to Azure", step 2). Auth with Entra ID (the deployer needs Storage Blob Data
# Contributor on the container); state locking uses the blob lease.
resource_group_name  = "rg-papyr-tfstate"
storage_account_name = "stpapyrtfstate01"
container_name       = "tfstate"
key                  = "papyr-dev.tfstate"
use_azuread_auth     = true
