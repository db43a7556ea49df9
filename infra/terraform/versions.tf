terraform {
  required_version = ">= 1.6"

  required_providers {
    azurerm = {
      source = "hashicorp/azurerm"
      # 4.30+: azurerm_function_app_flex_consumption with always_ready and http_concurrency.
      version = "~> 4.30"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
    time = {
      source  = "hashicorp/time"
      version = "~> 0.12"
    }
  }

  # Remote state, partial configuration: the storage account, container and key come from
  #   terraform init -backend-config=env/backend-<environment>.hcl
  # (see env/backend-dev.hcl and the bootstrap commands in the repository README).
  backend "azurerm" {}
}

provider "azurerm" {
  # null: taken from ARM_SUBSCRIPTION_ID / the Azure CLI login.
  subscription_id = var.subscription_id
  # Data-plane calls (Key Vault secrets, containers) authenticate with Entra ID, not account keys.
  storage_use_azuread = true

  features {
    key_vault {
      # Secrets removed by `terraform destroy` stay recoverable (soft delete) instead of purged.
      purge_soft_delete_on_destroy = false
    }
    resource_group {
      prevent_deletion_if_contains_resources = true
    }
  }
}
