# wirestate simulated ESP8266: `ussl`, the module's name on older firmware.
from ssl import *
