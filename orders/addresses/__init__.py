"""A signed-in shopper's saved shipping addresses: remembered from their orders, prefilled at
checkout, edited on the account page. Only the owner sees a row; to anyone else it does not exist."""
