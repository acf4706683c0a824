from marketplace.api import bp


@bp.get("/products")
def products():
    return {"items": []}
