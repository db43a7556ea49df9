# The intake queue: webhooks persist a notification here and answer at once; the intake function
# drains it. Duplicate detection drops re-sent notifications with the same MessageId; sessions
# (SessionId = mailbox) give one mailbox to one consumer at a time; expired or repeatedly failing
# messages go to the dead-letter queue (`papyr deadletter` inspects and resubmits them).

resource "azurerm_servicebus_namespace" "main" {
  #checkov:skip=CKV_AZURE_199:Double encryption needs the Premium tier; Standard keeps Microsoft-managed encryption at rest.
  #checkov:skip=CKV_AZURE_201:Customer-managed keys need the Premium tier.
  #checkov:skip=CKV_AZURE_204:Private endpoints and network rules need the Premium tier; the namespace takes Entra ID tokens only (local auth off).
  name                          = "sb-${local.stem}-${local.suffix}"
  location                      = azurerm_resource_group.main.location
  resource_group_name           = azurerm_resource_group.main.name
  sku                           = "Standard"
  minimum_tls_version           = "1.2"
  local_auth_enabled            = false # Entra ID (managed identity) only
  public_network_access_enabled = true
  tags                          = local.tags

  identity {
    type = "SystemAssigned"
  }
}

resource "azurerm_servicebus_queue" "intake" {
  name         = "intake"
  namespace_id = azurerm_servicebus_namespace.main.id

  lock_duration                           = "PT5M"
  max_delivery_count                      = var.intake_max_delivery_count
  dead_lettering_on_message_expiration    = true
  default_message_ttl                     = "P14D"
  requires_duplicate_detection            = true
  duplicate_detection_history_time_window = "PT1H"
  requires_session                        = var.intake_queue_sessions
  max_size_in_megabytes                   = 5120
}

# Explicit dead letters with a reason (the REST adapter cannot dead-letter itself, see
# shared/adapters/azure/servicebus.py): a plain queue beside the broker's own $DeadLetterQueue.
resource "azurerm_servicebus_queue" "intake_deadletter" {
  name         = "intake-deadletter"
  namespace_id = azurerm_servicebus_namespace.main.id

  lock_duration         = "PT1M"
  max_delivery_count    = 100
  default_message_ttl   = "P30D"
  max_size_in_megabytes = 1024
}
