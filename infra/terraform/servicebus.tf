# The intake queue: webhooks persist a notification here and answer at once; the intake function
# drains it. Duplicate detection drops re-sent notifications with the same message id.

resource "azurerm_servicebus_namespace" "main" {
  name                = "sb-${local.stem}-${local.suffix}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  sku                 = "Standard"
  minimum_tls_version = "1.2"
  local_auth_enabled  = false # Entra ID (managed identity) only
  tags                = local.tags
}

resource "azurerm_servicebus_queue" "intake" {
  name         = "intake"
  namespace_id = azurerm_servicebus_namespace.main.id

  lock_duration                           = "PT5M"
  max_delivery_count                      = 10
  dead_lettering_on_message_expiration    = true
  default_message_ttl                     = "P14D"
  requires_duplicate_detection            = true
  duplicate_detection_history_time_window = "PT1H"
}

resource "azurerm_role_assignment" "function_servicebus" {
  scope                = azurerm_servicebus_namespace.main.id
  role_definition_name = "Azure Service Bus Data Owner"
  principal_id         = azurerm_linux_function_app.main.identity[0].principal_id
}
