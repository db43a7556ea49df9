# One VNet, four subnets:
# - snet-aks: AKS nodes (Azure CNI overlay: pods get overlay addresses, nodes use this subnet);
# - snet-inference-lb: the internal load balancer of gpu-inference, at a fixed address so the
#   Function App's PAPYR_INFERENCE_URL is known at plan time (no second apply);
# - snet-functions: the Flex Consumption app's outbound VNet integration (delegated);
# - snet-private-endpoints: private endpoints of Storage, Cosmos DB and Key Vault, so the functions
#   reach them without the public internet and their public access can be closed.

resource "azurerm_virtual_network" "main" {
  name                = "vnet-${local.stem}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  address_space       = [var.vnet_address_space]
  tags                = local.tags
}

locals {
  subnet_cidrs = {
    aks               = cidrsubnet(var.vnet_address_space, 4, 0) # /20 of a /16
    functions         = cidrsubnet(var.vnet_address_space, 8, 16)
    inference_lb      = cidrsubnet(var.vnet_address_space, 8, 17)
    private_endpoints = cidrsubnet(var.vnet_address_space, 8, 18)
  }
  # The static address the gpu-inference Service asks for (annotation azure-load-balancer-ipv4).
  inference_ip  = cidrhost(local.subnet_cidrs.inference_lb, 10)
  inference_url = "http://${local.inference_ip}"
}

resource "azurerm_subnet" "aks" {
  name                 = "snet-aks"
  resource_group_name  = azurerm_resource_group.main.name
  virtual_network_name = azurerm_virtual_network.main.name
  address_prefixes     = [local.subnet_cidrs.aks]
}

resource "azurerm_subnet" "inference_lb" {
  name                 = "snet-inference-lb"
  resource_group_name  = azurerm_resource_group.main.name
  virtual_network_name = azurerm_virtual_network.main.name
  address_prefixes     = [local.subnet_cidrs.inference_lb]
}

resource "azurerm_subnet" "functions" {
  name                 = "snet-functions"
  resource_group_name  = azurerm_resource_group.main.name
  virtual_network_name = azurerm_virtual_network.main.name
  address_prefixes     = [local.subnet_cidrs.functions]

  # Flex Consumption integrates through Microsoft.App/environments (not Microsoft.Web/serverFarms).
  delegation {
    name = "flex-consumption"

    service_delegation {
      name    = "Microsoft.App/environments"
      actions = ["Microsoft.Network/virtualNetworks/subnets/join/action"]
    }
  }
}

resource "azurerm_subnet" "private_endpoints" {
  name                 = "snet-private-endpoints"
  resource_group_name  = azurerm_resource_group.main.name
  virtual_network_name = azurerm_virtual_network.main.name
  address_prefixes     = [local.subnet_cidrs.private_endpoints]
}

# Network security groups on every subnet. The platform defaults (VNet to VNet allowed, inbound from
# the internet denied) fit all of them; the load balancer subnet of gpu-inference is narrowed further
# to the functions' subnet on port 80.
locals {
  subnet_ids = {
    aks               = azurerm_subnet.aks.id
    inference_lb      = azurerm_subnet.inference_lb.id
    functions         = azurerm_subnet.functions.id
    private_endpoints = azurerm_subnet.private_endpoints.id
  }
}

resource "azurerm_network_security_group" "main" {
  for_each = local.subnet_ids

  name                = "nsg-${local.stem}-${each.key}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  tags                = local.tags
}

resource "azurerm_network_security_rule" "functions_to_inference" {
  name                        = "allow-functions-to-inference"
  resource_group_name         = azurerm_resource_group.main.name
  network_security_group_name = azurerm_network_security_group.main["inference_lb"].name
  priority                    = 100
  direction                   = "Inbound"
  access                      = "Allow"
  protocol                    = "Tcp"
  source_address_prefix       = local.subnet_cidrs.functions
  source_port_range           = "*"
  destination_address_prefix  = local.subnet_cidrs.inference_lb
  destination_port_range      = "80"
}

resource "azurerm_network_security_rule" "inference_deny_vnet" {
  name                        = "deny-other-vnet-to-inference"
  resource_group_name         = azurerm_resource_group.main.name
  network_security_group_name = azurerm_network_security_group.main["inference_lb"].name
  priority                    = 200
  direction                   = "Inbound"
  access                      = "Deny"
  protocol                    = "*"
  source_address_prefix       = "VirtualNetwork"
  source_port_range           = "*"
  destination_address_prefix  = local.subnet_cidrs.inference_lb
  destination_port_range      = "*"
}

resource "azurerm_subnet_network_security_group_association" "main" {
  for_each = local.subnet_ids

  subnet_id                 = each.value
  network_security_group_id = azurerm_network_security_group.main[each.key].id
}

# -- Private endpoints and their DNS zones ----------------------------------------------------------

locals {
  # target => (private DNS zone, sub-resource). Service Bus is not here: private endpoints need the
  # Premium tier; the Standard namespace accepts Entra ID tokens only (local auth disabled).
  private_endpoints = {
    blob = {
      zone        = "privatelink.blob.core.windows.net"
      subresource = "blob"
      resource_id = azurerm_storage_account.main.id
    }
    queue = {
      zone        = "privatelink.queue.core.windows.net"
      subresource = "queue"
      resource_id = azurerm_storage_account.main.id
    }
    table = {
      zone        = "privatelink.table.core.windows.net"
      subresource = "table"
      resource_id = azurerm_storage_account.main.id
    }
    cosmos = {
      zone        = "privatelink.documents.azure.com"
      subresource = "Sql"
      resource_id = azurerm_cosmosdb_account.main.id
    }
    vault = {
      zone        = "privatelink.vaultcore.azure.net"
      subresource = "vault"
      resource_id = azurerm_key_vault.main.id
    }
  }
}

resource "azurerm_private_dns_zone" "main" {
  for_each = toset([for endpoint in local.private_endpoints : endpoint.zone])

  name                = each.value
  resource_group_name = azurerm_resource_group.main.name
  tags                = local.tags
}

resource "azurerm_private_dns_zone_virtual_network_link" "main" {
  for_each = azurerm_private_dns_zone.main

  name                  = "link-${local.stem}"
  resource_group_name   = azurerm_resource_group.main.name
  private_dns_zone_name = each.value.name
  virtual_network_id    = azurerm_virtual_network.main.id
  tags                  = local.tags
}

resource "azurerm_private_endpoint" "main" {
  for_each = local.private_endpoints

  name                = "pe-${local.stem}-${each.key}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  subnet_id           = azurerm_subnet.private_endpoints.id
  tags                = local.tags

  private_service_connection {
    name                           = "psc-${each.key}"
    private_connection_resource_id = each.value.resource_id
    subresource_names              = [each.value.subresource]
    is_manual_connection           = false
  }

  private_dns_zone_group {
    name                 = "default"
    private_dns_zone_ids = [azurerm_private_dns_zone.main[each.value.zone].id]
  }
}
