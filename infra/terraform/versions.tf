terraform {
  required_version = ">= 1.6"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.20"
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

  # State: pass a backend at init time, e.g.
  #   terraform init -backend-config=backend.hcl
  # with an azurerm backend (storage account + container + key). Local state otherwise.
}

provider "azurerm" {
  # null: taken from ARM_SUBSCRIPTION_ID / the Azure CLI login.
  subscription_id = var.subscription_id

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
