# AKS for the gpu-inference deployment (OCR and fraud model on ONNX Runtime + CUDA): a small
# system pool, and a GPU pool that scales from zero and only takes pods that tolerate the GPU taint.
# Entra ID only (no local accounts, Azure RBAC for Kubernetes), Azure network policy, the inference
# Service behind an internal load balancer in snet-inference-lb (gpu-inference/k8s).

resource "azurerm_container_registry" "main" {
  #checkov:skip=CKV_AZURE_139:Public endpoint with Entra ID only (admin user off); private endpoints need the Premium tier.
  #checkov:skip=CKV_AZURE_163:Vulnerability scanning is Defender for Containers, a subscription-level plan enabled outside this configuration.
  #checkov:skip=CKV_AZURE_164:Content trust (signed images) needs the Premium tier.
  #checkov:skip=CKV_AZURE_165:Geo-replication needs the Premium tier; one region is enough for one inference image.
  #checkov:skip=CKV_AZURE_166:Quarantine needs the Premium tier.
  #checkov:skip=CKV_AZURE_167:Retention of untagged manifests needs the Premium tier.
  #checkov:skip=CKV_AZURE_233:Zone redundancy needs the Premium tier.
  #checkov:skip=CKV_AZURE_237:Dedicated data endpoints need the Premium tier.
  name                = "acr${var.prefix}${local.suffix}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  sku                 = "Standard"
  admin_enabled       = false
  tags                = local.tags
}

resource "azurerm_kubernetes_cluster" "main" {
  #checkov:skip=CKV_AZURE_170:sku_tier comes from aks_sku_tier: Free in dev (no SLA needed), Standard in env/prod.tfvars.
  #checkov:skip=CKV_AZURE_115:Public API server limited to allowed_ip_ranges with Entra ID auth, so operators can kubectl without a jump host.
  #checkov:skip=CKV_AZURE_117:Managed-key disk encryption; no customer-managed key requirement.
  #checkov:skip=CKV_AZURE_226:Ephemeral OS disks need VM sizes with a large enough cache; the default D4s_v5 has none.
  #checkov:skip=CKV_AZURE_227:Encryption at host needs the subscription feature Microsoft.Compute/EncryptionAtHost registered first; set host_encryption_enabled where it is.
  name                              = "aks-${local.stem}"
  location                          = azurerm_resource_group.main.location
  resource_group_name               = azurerm_resource_group.main.name
  dns_prefix                        = "${var.prefix}-${var.environment}"
  kubernetes_version                = var.kubernetes_version
  sku_tier                          = var.aks_sku_tier
  automatic_upgrade_channel         = "patch"
  node_os_upgrade_channel           = "NodeImage"
  oidc_issuer_enabled               = true
  workload_identity_enabled         = true
  local_account_disabled            = true
  role_based_access_control_enabled = true
  azure_policy_enabled              = true
  tags                              = local.tags

  azure_active_directory_role_based_access_control {
    tenant_id          = data.azurerm_client_config.current.tenant_id
    azure_rbac_enabled = true
  }

  api_server_access_profile {
    authorized_ip_ranges = var.allowed_ip_ranges
  }

  default_node_pool {
    name                         = "system"
    vm_size                      = var.aks_system_vm_size
    vnet_subnet_id               = azurerm_subnet.aks.id
    auto_scaling_enabled         = true
    min_count                    = 1
    max_count                    = 3
    max_pods                     = 110
    only_critical_addons_enabled = true
    temporary_name_for_rotation  = "systemtmp"

    upgrade_settings {
      max_surge = "33%"
    }
  }

  identity {
    type = "SystemAssigned"
  }

  network_profile {
    network_plugin      = "azure"
    network_plugin_mode = "overlay"
    network_policy      = "azure"
    load_balancer_sku   = "standard"
    pod_cidr            = "192.168.0.0/16"
  }

  key_vault_secrets_provider {
    secret_rotation_enabled = true
  }

  oms_agent {
    log_analytics_workspace_id = azurerm_log_analytics_workspace.main.id
  }

  lifecycle {
    ignore_changes = [default_node_pool[0].node_count]
  }
}

resource "azurerm_kubernetes_cluster_node_pool" "gpu" {
  #checkov:skip=CKV_AZURE_226:Ephemeral OS disks depend on the GPU VM size's cache; the T4 sizes' default OS disk is kept.
  #checkov:skip=CKV_AZURE_227:Encryption at host needs the subscription feature Microsoft.Compute/EncryptionAtHost registered first.
  name                  = "gpu"
  kubernetes_cluster_id = azurerm_kubernetes_cluster.main.id
  vm_size               = var.gpu_vm_size
  mode                  = "User"
  os_sku                = "Ubuntu"
  vnet_subnet_id        = azurerm_subnet.aks.id
  auto_scaling_enabled  = true
  min_count             = var.gpu_min_nodes
  max_count             = var.gpu_max_nodes
  node_count            = var.gpu_min_nodes
  max_pods              = 50

  # Only the gpu-inference pods (which tolerate this taint and request nvidia.com/gpu) land here.
  node_taints = ["nvidia.com/gpu=present:NoSchedule"]
  node_labels = {
    "papyr.io/accelerator" = var.gpu_node_label
  }
  tags = local.tags

  lifecycle {
    ignore_changes = [node_count]
  }
}

# The cluster identity creates the internal load balancer (in snet-inference-lb) and joins nodes to
# snet-aks: Network Contributor on those two subnets only, not on the whole VNet.
resource "azurerm_role_assignment" "aks_network" {
  for_each = {
    aks          = azurerm_subnet.aks.id
    inference_lb = azurerm_subnet.inference_lb.id
  }

  scope                = each.value
  role_definition_name = "Network Contributor"
  principal_id         = azurerm_kubernetes_cluster.main.identity[0].principal_id
  principal_type       = "ServicePrincipal"
}

# Nodes pull the gpu-inference image from the registry.
resource "azurerm_role_assignment" "aks_acr_pull" {
  scope                            = azurerm_container_registry.main.id
  role_definition_name             = "AcrPull"
  principal_id                     = azurerm_kubernetes_cluster.main.kubelet_identity[0].object_id
  skip_service_principal_aad_check = true
}

# Local accounts are off: whoever runs Terraform administers the cluster through Entra ID (kubectl
# with kubelogin). Grant further people "Azure Kubernetes Service RBAC Reader/Writer" the same way.
resource "azurerm_role_assignment" "deployer_aks_admin" {
  scope                = azurerm_kubernetes_cluster.main.id
  role_definition_name = "Azure Kubernetes Service RBAC Cluster Admin"
  principal_id         = data.azurerm_client_config.current.object_id
}

# Whoever runs Terraform pushes the inference image (`az acr build` / docker push).
resource "azurerm_role_assignment" "deployer_acr_push" {
  scope                = azurerm_container_registry.main.id
  role_definition_name = "AcrPush"
  principal_id         = data.azurerm_client_config.current.object_id
}
