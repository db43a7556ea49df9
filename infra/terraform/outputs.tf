output "resource_group_name" {
  value = azurerm_resource_group.main.name
}

output "function_app_name" {
  description = "Deploy with: func azure functionapp publish <this name> --python"
  value       = azurerm_linux_function_app.main.name
}

output "function_app_url" {
  value = "https://${azurerm_linux_function_app.main.default_hostname}"
}

output "function_app_principal_id" {
  description = "Object id of the Function App's system-assigned identity."
  value       = azurerm_linux_function_app.main.identity[0].principal_id
}

output "storage_account_name" {
  value = azurerm_storage_account.main.name
}

output "blob_containers" {
  value = [azurerm_storage_container.papyr.name, azurerm_storage_container.incoming.name]
}

output "cosmos_endpoint" {
  value = azurerm_cosmosdb_account.main.endpoint
}

output "cosmos_containers" {
  description = "Container name => partition key path."
  value       = { for name, container in azurerm_cosmosdb_sql_container.main : name => container.partition_key_paths[0] }
}

output "servicebus_namespace" {
  value = "${azurerm_servicebus_namespace.main.name}.servicebus.windows.net"
}

output "key_vault_uri" {
  value = azurerm_key_vault.main.vault_uri
}

output "container_registry_login_server" {
  value = azurerm_container_registry.main.login_server
}

output "aks_cluster_name" {
  value = azurerm_kubernetes_cluster.main.name
}

output "aks_get_credentials" {
  description = "Command that merges the cluster's kubeconfig for kubectl."
  value       = "az aks get-credentials --resource-group ${azurerm_resource_group.main.name} --name ${azurerm_kubernetes_cluster.main.name}"
}

output "application_insights_connection_string" {
  value     = azurerm_application_insights.main.connection_string
  sensitive = true
}
