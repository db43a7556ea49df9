output "resource_group_name" {
  value = azurerm_resource_group.main.name
}

output "function_app_name" {
  description = "Deploy with: func azure functionapp publish <this name> --python"
  value       = azurerm_function_app_flex_consumption.main.name
}

output "function_app_url" {
  value = "https://${azurerm_function_app_flex_consumption.main.default_hostname}"
}

output "function_app_principal_id" {
  description = "Object id of the Function App's system-assigned identity."
  value       = local.function_principal_id
}

output "storage_account_name" {
  value = azurerm_storage_account.main.name
}

output "blob_containers" {
  value = [azurerm_storage_container.papyr.name, azurerm_storage_container.incoming.name, azurerm_storage_container.deployments.name]
}

output "cosmos_endpoint" {
  value = azurerm_cosmosdb_account.main.endpoint
}

output "cosmos_containers" {
  description = "Container name => partition key path."
  value       = { for name, container in azurerm_cosmosdb_sql_container.main : name => container.partition_key_paths[0] }
}

output "servicebus_namespace" {
  value = local.servicebus_fqdn
}

output "key_vault_name" {
  value = azurerm_key_vault.main.name
}

output "key_vault_uri" {
  value = azurerm_key_vault.main.vault_uri
}

output "container_registry_name" {
  value = azurerm_container_registry.main.name
}

output "container_registry_login_server" {
  value = azurerm_container_registry.main.login_server
}

output "aks_cluster_name" {
  value = azurerm_kubernetes_cluster.main.name
}

output "aks_get_credentials" {
  description = "Command that merges the cluster's kubeconfig for kubectl (then `kubelogin convert-kubeconfig -l azurecli`)."
  value       = "az aks get-credentials --resource-group ${azurerm_resource_group.main.name} --name ${azurerm_kubernetes_cluster.main.name}"
}

output "inference_url" {
  description = "Where the Function App reaches gpu-inference (the internal load balancer's fixed address)."
  value       = local.inference_url
}

# The parameters of gpu-inference/k8s (placeholders ${NAME} in its templates), one NAME=value per line:
#   terraform output -raw k8s_env > ../../gpu-inference/k8s/<environment>.env
output "k8s_env" {
  description = "Values for gpu-inference/k8s/render.sh, as an env file."
  value = join("\n", [for name, value in {
    ACR_LOGIN_SERVER       = azurerm_container_registry.main.login_server
    INFERENCE_IP           = local.inference_ip
    INFERENCE_LB_SUBNET    = azurerm_subnet.inference_lb.name
    FUNCTIONS_SUBNET_CIDR  = local.subnet_cidrs.functions
    GPU_NODE_LABEL         = var.gpu_node_label
    INFERENCE_MIN_REPLICAS = var.inference_min_replicas
    INFERENCE_MAX_REPLICAS = var.inference_max_replicas
  } : "${name}=${value}"])
}

output "application_insights_connection_string" {
  value     = azurerm_application_insights.main.connection_string
  sensitive = true
}
