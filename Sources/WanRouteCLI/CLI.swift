import WanRoute
