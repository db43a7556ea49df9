# AKS for the gpu-inference deployment (OCR and fraud model on ONNX Runtime + CUDA): a small
# system pool, and a GPU pool that scales to zero and only takes pods that tolerate the GPU taint.

resource "azurerm_container_registry" "main" {
  name                = "acr${var.prefix}${local.suffix}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  sku                 = "Standard"
  admin_enabled       = false
  tags                = local.tags
}

resource "azurerm_kubernetes_cluster" "main" {
  name                      = "aks-${local.stem}"
  location                  = azurerm_resource_group.main.location
  resource_group_name       = azurerm_resource_group.main.name
  dns_prefix                = "${var.prefix}-${var.environment}"
  kubernetes_version        = var.kubernetes_version
  oidc_issuer_enabled       = true
  workload_identity_enabled = true
  tags                      = local.tags

  default_node_pool {
    name                        = "system"
    vm_size                     = var.aks_system_vm_size
    vnet_subnet_id              = azurerm_subnet.aks.id
    auto_scaling_enabled        = true
    min_count                   = 1
    max_count                   = 3
    node_count                  = 1
    temporary_name_for_rotation = "systemtmp"

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
    load_balancer_sku   = "standard"
  }

  oms_agent {
    log_analytics_workspace_id = azurerm_log_analytics_workspace.main.id
  }

  lifecycle {
    ignore_changes = [default_node_pool[0].node_count]
  }
}

resource "azurerm_kubernetes_cluster_node_pool" "gpu" {
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

  # Only the gpu-inference pods (which tolerate this taint and request nvidia.com/gpu) land here.
  node_taints = ["nvidia.com/gpu=present:NoSchedule"]
  node_labels = {
    "papyr.io/accelerator" = "nvidia-t4"
  }
  tags = local.tags

  lifecycle {
    ignore_changes = [node_count]
  }
}

# The cluster creates the internal load balancer for gpu-inference in the AKS subnet.
resource "azurerm_role_assignment" "aks_network" {
  scope                = azurerm_virtual_network.main.id
  role_definition_name = "Network Contributor"
  principal_id         = azurerm_kubernetes_cluster.main.identity[0].principal_id
}

# Nodes pull the gpu-inference image from the registry.
resource "azurerm_role_assignment" "aks_acr_pull" {
  scope                            = azurerm_container_registry.main.id
  role_definition_name             = "AcrPull"
  principal_id                     = azurerm_kubernetes_cluster.main.kubelet_identity[0].object_id
  skip_service_principal_aad_check = true
}
