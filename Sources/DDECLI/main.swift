print("dde")
