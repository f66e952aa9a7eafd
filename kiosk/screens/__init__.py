"""One module per kind of page, in the order a resident meets them."""
