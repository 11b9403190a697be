// Value is part of Flowline's public API; its header lives with the others.
#pragma once

#include "flowline/value.h"
