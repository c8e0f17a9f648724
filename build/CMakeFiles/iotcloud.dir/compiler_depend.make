# Empty compiler generated dependencies file for iotcloud.
# This may be replaced when dependencies are built.
