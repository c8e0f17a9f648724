# Empty dependencies file for iotcore.
# This may be replaced when dependencies are built.
